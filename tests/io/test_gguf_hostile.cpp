// Hostile GGUF files (issue 7), built byte by byte: each must end in an IoError naming the file, the field
// and the problem, without reading past the end of the file or allocating what a length field claims.
#include <gtest/gtest.h>

#include "io_test_util.h"
#include "tl/io/gguf.h"

namespace tl::test {
namespace {

using io::GgufFile;

// Pieces of a GGUF file.
Bytes& str(Bytes& b, const std::string& s) { return b.put<uint64_t>(s.size()).raw(s); }
std::string kv_u32(const std::string& key, uint32_t v) {
  Bytes b;
  str(b, key).put<uint32_t>(4).put<uint32_t>(v);
  return b.s;
}
std::string tinfo(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
  Bytes b;
  str(b, name).put<uint32_t>(uint32_t(ne.size()));
  for (uint64_t d : ne) b.put<uint64_t>(d);
  b.put<uint32_t>(type).put<uint64_t>(offset);
  return b.s;
}
// magic, version, counts, kvs, tensor infos, padding to `align`, data.
std::string gguf(const std::vector<std::string>& kvs, const std::vector<std::string>& infos, size_t data_bytes,
                 uint32_t version = 3, size_t align = 32) {
  Bytes b;
  b.raw("GGUF").put<uint32_t>(version).put<uint64_t>(infos.size()).put<uint64_t>(kvs.size());
  for (const auto& k : kvs) b.raw(k);
  for (const auto& t : infos) b.raw(t);
  b.pad_to((b.s.size() + align - 1) / align * align);
  b.s.append(data_bytes, '\0');
  return b.s;
}

TEST(GgufHostile, ValidBaseline) {
  TempDir tmp;
  GgufFile g = GgufFile::open(tmp.write("ok.gguf", gguf({kv_u32("a", 1)}, {tinfo("w", {4, 2}, 0, 0)}, 32)));
  EXPECT_EQ(shape_str(g.tensor_info("w").shape), "[2, 4]");
  EXPECT_EQ(g.tensor("w").numel(), 8);
}

TEST(GgufHostile, EachFailsWithFieldAndProblem) {
  TempDir tmp;
  auto kv_raw = [](const std::string& key, uint32_t type, const std::string& payload) {
    Bytes b;
    str(b, key).put<uint32_t>(type).raw(payload);
    return b.s;
  };
  auto u64 = [](uint64_t v) { return Bytes().put<uint64_t>(v).s; };
  auto u32 = [](uint32_t v) { return Bytes().put<uint32_t>(v).s; };
  std::string deep;  // 9 nested array headers, each holding one array
  for (int i = 0; i < 9; ++i) deep += u32(9) + u64(1);
  deep += u32(4) + u64(0);
  const std::vector<Hostile> cases = {
      {"empty", "", {"magic", "expected \"GGUF\""}},
      {"bad_magic", "GGML\x03\0\0\0", {"magic", "expected \"GGUF\", got \"GGML\""}},
      {"truncated_header", std::string("GGUF\x03\0", 6), {"version", "needs 4 bytes", "only 2 remain"}},
      {"version_1", gguf({}, {}, 0, 1), {"version", "unsupported version 1 (supported: 2, 3)"}},
      {"big_endian", Bytes().raw("GGUF").put<uint32_t>(0x03000000u).s, {"version", "big-endian", "only little-endian"}},
      {"version_4", gguf({}, {}, 0, 4), {"version", "unsupported version 4"}},
      {"kv_count_absurd", Bytes().raw("GGUF").put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1ull << 40).s,
       {"kv_count", "1099511627776 entries cannot fit"}},
      {"tensor_count_absurd", Bytes().raw("GGUF").put<uint32_t>(3).put<uint64_t>(~0ull).put<uint64_t>(0).s,
       {"tensor_count", "cannot fit"}},
      {"key_length_beyond_file", gguf({u64(1ull << 40) + "ab"}, {}, 0), {"metadata key #0", "string length 1099511627776 exceeds"}},
      {"string_value_beyond_file", gguf({kv_raw("s", 8, u64(5000) + "abc")}, {}, 0), {"metadata \"s\"", "string length 5000 exceeds"}},
      {"array_count_beyond_file", gguf({kv_raw("arr", 9, u32(4) + u64(1ull << 50))}, {}, 0),
       {"metadata \"arr\"", "array of 1125899906842624 uint32 cannot fit"}},
      {"string_array_count_beyond_file", gguf({kv_raw("arr", 9, u32(8) + u64(1000))}, {}, 0),
       {"metadata \"arr\"", "array of 1000 string cannot fit"}},
      {"unknown_value_type", gguf({kv_raw("x", 13, u32(0))}, {}, 0), {"metadata \"x\"", "unknown value type 13"}},
      {"unknown_array_type", gguf({kv_raw("x", 9, u32(77) + u64(1))}, {}, 0), {"metadata \"x\"", "unknown array element type 77"}},
      {"bool_not_01", gguf({kv_raw("b", 7, "\x02")}, {}, 0), {"metadata \"b\"", "bool byte is 2"}},
      {"nested_too_deep", gguf({kv_raw("n", 9, deep)}, {}, 0), {"metadata \"n\"", "nested deeper than 8"}},
      {"duplicate_key", gguf({kv_u32("a", 1), kv_u32("a", 2)}, {}, 0), {"metadata \"a\"", "duplicate key"}},
      {"alignment_wrong_type", gguf({kv_raw("general.alignment", 10, u64(32))}, {}, 0),
       {"general.alignment", "expected uint32, got uint64"}},
      {"alignment_not_pow2", gguf({kv_u32("general.alignment", 48)}, {}, 0), {"general.alignment", "48 is not a power of two"}},
      {"alignment_zero", gguf({kv_u32("general.alignment", 0)}, {}, 0), {"general.alignment", "0 is not a power of two"}},
      {"ndims_5", gguf({}, {tinfo("w", {1, 1, 1, 1, 1}, 0, 0)}, 32), {"tensor \"w\" n_dims", "5 exceeds the maximum of 4"}},
      {"ndims_absurd", gguf({}, {Bytes().raw(tinfo("w", {}, 0, 0).substr(0, 9)).put<uint32_t>(1u << 30).s}, 32),
       {"tensor \"w\" n_dims", "1073741824 exceeds"}},
      {"dims_overflow", gguf({}, {tinfo("w", {1ull << 40, 1ull << 40}, 0, 0)}, 32), {"tensor \"w\" ne", "overflows the element count"}},
      {"dims_overflow_with_zero", gguf({}, {tinfo("w", {1ull << 40, 1ull << 40, 0}, 0, 0)}, 32), {"tensor \"w\" ne", "overflows the element count"}},
      {"dim_negative", gguf({}, {tinfo("w", {~0ull}, 0, 0)}, 32), {"tensor \"w\" ne", "overflows"}},
      {"unknown_tensor_type", gguf({}, {tinfo("w", {4}, 99, 0)}, 32), {"tensor \"w\" type", "unknown ggml type 99"}},
      {"removed_tensor_type", gguf({}, {tinfo("w", {32}, 4, 0)}, 32), {"tensor \"w\" type", "unknown ggml type 4"}},
      {"row_not_whole_blocks", gguf({}, {tinfo("w", {33}, 8, 0)}, 64), {"tensor \"w\" ne", "row length 33", "Q8_0 block size 32"}},
      {"data_out_of_range", gguf({}, {tinfo("w", {16}, 0, 0)}, 32), {"tensor \"w\" offset", "data [0, 0 + 64) exceeds the data section of 32 bytes"}},
      {"offset_out_of_range", gguf({}, {tinfo("w", {1}, 0, 1ull << 62)}, 32), {"tensor \"w\" offset", "exceeds the data section"}},
      {"misaligned", gguf({}, {tinfo("w", {1}, 0, 4)}, 32), {"tensor \"w\" offset", "4 is not a multiple of the alignment 32"}},
      {"overlap", gguf({}, {tinfo("a", {16}, 0, 0), tinfo("b", {8}, 0, 32)}, 128), {"tensor \"b\" offset", "overlaps tensor \"a\""}},
      {"duplicate_tensor", gguf({}, {tinfo("a", {1}, 0, 0), tinfo("a", {1}, 0, 32)}, 64), {"tensor \"a\"", "duplicate tensor name"}},
      {"no_data_section", gguf({}, {tinfo("w", {4}, 0, 0)}, 0).substr(0, 60), {"data section"}},
      {"huge_tensor_in_small_file", gguf({}, {tinfo("w", {25000000000ull}, 0, 0)}, 1000),
       {"tensor \"w\" offset", "exceeds the data section"}},
  };
  expect_hostile_files(tmp, cases, ".gguf", "[gguf]", [](const std::string& path) { GgufFile::open(path); });
}

TEST(GgufHostile, BadVocabIsValueError) {
  TempDir tmp;
  Bytes toks;
  str(toks, "tokenizer.ggml.tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(2);
  str(toks, "a");
  str(toks, "b");
  GgufFile g = GgufFile::open(tmp.write("v.gguf", gguf({toks.s, kv_u32("tokenizer.ggml.bos_token_id", 5)}, {}, 0)));
  expect_error<ValueError>([&] { g.vocab(); }, {"v.gguf", "special token id 5", "vocabulary of 2 tokens"});
}

}  // namespace
}  // namespace tl::test
