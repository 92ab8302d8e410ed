// Hostile safetensors files (issue 7): each must end in an IoError naming the file, the field and the
// problem, without reading outside the file or allocating what the header claims.
#include <gtest/gtest.h>

#include "io_test_util.h"
#include "tl/io/safetensors.h"

namespace tl::test {
namespace {

using io::SafetensorsFile;

// 8-byte length + header + data; `len` overrides the length field.
std::string st_file(const std::string& header, size_t data_bytes, std::optional<uint64_t> len = std::nullopt) {
  Bytes b;
  b.put<uint64_t>(len ? *len : header.size()).raw(header);
  b.s.append(data_bytes, '\0');
  return b.s;
}

TEST(SafetensorsHostile, EachFailsWithFieldAndProblem) {
  TempDir tmp;
  const std::vector<Hostile> cases = {
      {"short", "abc", {"header length", "file is 3 bytes"}},
      {"empty", "", {"header length", "file is 0 bytes"}},
      {"len_beyond_file", st_file("{}", 0, 1000), {"header length", "1000 bytes but the file has only 2"}},
      {"len_over_cap", st_file("{}", 0, 200000000ull), {"header length", "exceeds the 100 MB limit"}},
      {"len_huge", st_file("{}", 0, ~0ull), {"header length", "exceeds the 100 MB limit"}},
      {"not_json", st_file("{nope}", 0), {"header", "not valid JSON"}},
      {"not_object", st_file("[1,2]   ", 0), {"header", "does not start with '{'"}},
      {"truncated_json", st_file("{\"a\":", 0), {"header", "not valid JSON"}},
      {"entry_not_object", st_file(R"({"w":5})", 0), {"tensor \"w\"", "expected an object, got integer"}},
      {"missing_fields", st_file(R"({"w":{"dtype":"F32"}})", 0), {"tensor \"w\"", "missing"}},
      {"unknown_dtype", st_file(R"({"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", 16),
       {"tensor \"w\" dtype", "unknown safetensors dtype \"F128\""}},
      {"dtype_not_string", st_file(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4), {"tensor \"w\" dtype", "expected a string"}},
      {"negative_dim", st_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), {"tensor \"w\" shape", "non-negative"}},
      {"float_dim", st_file(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4), {"tensor \"w\" shape", "non-negative integers"}},
      {"shape_overflow",
       st_file(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,2],"data_offsets":[0,4]}})", 4),
       {"tensor \"w\" shape", "more than 2^63 elements"}},
      {"shape_overflow_with_zero",
       st_file(R"({"w":{"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", 0),
       {"tensor \"w\" shape", "more than 2^63 elements"}},
      {"bytes_overflow",
       st_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4),
       {"tensor \"w\" shape", "overflows 64 bits"}},
      {"offsets_out_of_range", st_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
       {"tensor \"w\" data_offsets", "[0, 16] exceeds the data section of 8 bytes"}},
      {"offsets_reversed", st_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8),
       {"tensor \"w\" data_offsets", "end 4 < begin 8"}},
      {"offsets_bad_form", st_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
       {"tensor \"w\" data_offsets", "expected [begin, end]"}},
      {"offsets_vs_shape", st_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
       {"tensor \"w\" data_offsets", "span 8 bytes but shape [3] x F32 needs 12"}},
      {"overlap",
       st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       {"tensor \"b\" data_offsets", "overlaps the previous tensor ending at 8"}},
      {"gap",
       st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
       {"tensor \"b\" data_offsets", "gap after byte 4"}},
      {"trailing_data", st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12),
       {"data_offsets", "tensors cover 4 bytes but the data section has 12"}},
      {"duplicate_names",
       st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
       {"header", "duplicate object key \"a\""}},
      {"metadata_not_object", st_file(R"({"__metadata__":[1]})", 0), {"__metadata__", "expected an object of strings, got array"}},
      {"metadata_not_string", st_file(R"({"__metadata__":{"k":1}})", 0), {"__metadata__.k", "expected a string, got integer"}},
      {"huge_tensor_in_small_file",
       st_file(R"({"w":{"dtype":"F32","shape":[25000000000],"data_offsets":[0,100000000000]}})", 1000),
       {"tensor \"w\" data_offsets", "[0, 100000000000] exceeds the data section of 1000 bytes"}},
  };
  expect_hostile_files(tmp, cases, ".safetensors", "[safetensors]",
                       [](const std::string& path) { SafetensorsFile::open(path); });
}

TEST(SafetensorsHostile, MisalignedDataIsCopied) {
  // A valid file whose header length (9) leaves the data at an odd offset: F32 must come back as a copy.
  TempDir tmp;
  std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header += " ";  // 57 + 1 = 58 bytes -> data at 66, not 4-aligned
  Bytes b;
  b.put<uint64_t>(header.size()).raw(header).put<float>(1.5f).put<float>(-2.0f);
  SafetensorsFile f = SafetensorsFile::open(tmp.write("odd.safetensors", b.s));
  ASSERT_NE(f.data_start() % 4, 0u);
  Tensor t = f.load("w");
  EXPECT_NE(static_cast<const void*>(t.raw_data()), static_cast<const void*>(f.raw("w").data()));
  EXPECT_EQ(t.to_f32_vector(), (std::vector<float>{1.5f, -2.0f}));
}

TEST(SafetensorsHostile, BoolBytesOtherThanZeroOne) {
  TempDir tmp;
  std::string header = R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})";
  Bytes b;
  b.put<uint64_t>(header.size()).raw(header).put<uint8_t>(0).put<uint8_t>(7).put<uint8_t>(255);
  Tensor t = SafetensorsFile::open(tmp.write("b.safetensors", b.s)).load("m");
  EXPECT_EQ(t.to_f32_vector(), (std::vector<float>{0, 1, 1}));
}

}  // namespace
}  // namespace tl::test
