// GGUF writer (src/io/gguf_write.cpp) against gguf 0.19.0's GGUFWriter: files built from the same content
// must be byte-identical (fixtures: scripts/gen_gguf_write_fixtures.py), round trips through our reader, and
// every validation error.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "io_test_util.h"
#include "tl/dtype.h"
#include "tl/io/gguf.h"

namespace tl::test {
namespace {

using io::GgmlType;
using io::GgufArray;
using io::GgufFile;
using io::GgufValue;
using io::GgufValueType;
using io::GgufWriter;

std::string wfix(const std::string& name) {
  return std::string(TL_FIXTURE_DIR) + "/gguf_write/" + name;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// ((i * mul) % mod - off) / div, as formula() in the fixture script.
std::vector<float> formula(int n, int mul = 37, int mod = 101, int off = 50, float div = 16.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[size_t(i)] = float((i * mul) % mod - off) / div;
  return v;
}
std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
std::vector<uint8_t> f16_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b;
  for (float x : v) {
    const uint16_t h = f32_to_f16(x);
    b.push_back(uint8_t(h & 0xFF));
    b.push_back(uint8_t(h >> 8));
  }
  return b;
}

GgufValue arr(GgufValueType elem, std::vector<GgufValue> values) {
  GgufValue v;
  v.type = GgufValueType::ARRAY;
  v.v = GgufArray{elem, std::move(values)};
  return v;
}

// The content of plain.gguf, built by hand.
GgufWriter plain_writer() {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.set("t.u8", io::gguf_scalar(GgufValueType::U8, uint64_t(200)));
  w.set("t.i8", io::gguf_scalar(GgufValueType::I8, int64_t(-100)));
  w.set("t.u16", io::gguf_scalar(GgufValueType::U16, uint64_t(60000)));
  w.set("t.i16", io::gguf_scalar(GgufValueType::I16, int64_t(-30000)));
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_f32("t.f32", 0.1f);
  w.set("t.u64", io::gguf_u64((1ULL << 63) + 5));
  w.set("t.i64", io::gguf_scalar(GgufValueType::I64, int64_t(-(1LL << 62))));
  w.set("t.f64", io::gguf_scalar(GgufValueType::F64, 0.1));
  w.set_bool("t.bool", true);
  w.set_string("t.str", "h\xc3\xa9llo \xe2\x96\x81 world");
  w.set_array("t.arr_str", io::gguf_string_array({"a", "bc", ""}));
  w.set_array("t.arr_i32", io::gguf_i32_array({1, -2, 3}));
  w.set_array("t.arr_f32", io::gguf_f32_array({0.5f, -1.25f, 0.1f}));
  w.set_array("t.arr_bool", arr(GgufValueType::BOOL, {io::gguf_bool(true), io::gguf_bool(false)}));
  w.set_array("t.arr_u8", arr(GgufValueType::U8, {io::gguf_scalar(GgufValueType::U8, uint64_t(1)),
                                                  io::gguf_scalar(GgufValueType::U8, uint64_t(2)),
                                                  io::gguf_scalar(GgufValueType::U8, uint64_t(255))}));
  w.set_array("t.arr_arr", arr(GgufValueType::ARRAY, {io::gguf_i32_array({1, 2}), io::gguf_i32_array({3})}));
  w.add_tensor("a.f32", GgmlType::F32, {3, 5}, f32_bytes(formula(15)));
  w.add_tensor("b.f16", GgmlType::F16, {2, 4}, f16_bytes(formula(8, 13, 29, 14, 4.0f)));
  w.add_tensor("c.one_d", GgmlType::F32, {7}, f32_bytes(formula(7, 5, 11, 5, 2.0f)));
  return w;
}

TEST(GgufWrite, ByteIdenticalToGgufPyByHand) {
  const std::vector<uint8_t> want = read_bytes(wfix("plain.gguf"));
  ASSERT_FALSE(want.empty());
  const GgufWriter w = plain_writer();
  const std::vector<uint8_t> got = w.serialize();
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "bytes differ from gguf.GGUFWriter's plain.gguf";
  TempDir t;
  const std::string p = (t.dir / "plain.gguf").string();
  EXPECT_EQ(w.write(p), want.size());
  EXPECT_TRUE(read_bytes(p) == want);
  EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
}

// Every value type and tensor type (BF16, Q8_0, Q4_0, Q4_1 blocks from gguf.quants.quantize) and a custom
// alignment: reading the fixture and writing its metadata and raw tensors back gives the same bytes.
TEST(GgufWrite, RewriteIsByteIdentical) {
  for (const char* name : {"quant.gguf", "plain.gguf"}) {
    const GgufFile f = GgufFile::open(wfix(name));
    GgufWriter w;
    for (const auto& [k, v] : f.metadata()) w.set(k, v);
    for (const io::GgufTensorInfo& t : f.tensors()) {
      const auto raw = f.raw(t.name);
      w.add_tensor(t.name, t.type, t.shape, std::vector<uint8_t>(raw.begin(), raw.end()));
    }
    EXPECT_EQ(w.alignment(), f.alignment()) << name;
    EXPECT_TRUE(w.serialize() == read_bytes(wfix(name))) << name;
  }
  EXPECT_EQ(GgufFile::open(wfix("quant.gguf")).alignment(), 64u);
}

TEST(GgufWrite, RoundTripThroughReader) {
  TempDir t;
  GgufWriter w = plain_writer();
  // Lazy tensors and a replaced key (keeps its position).
  w.set_u32("t.u32", 7);
  std::vector<uint8_t> q(2 * 2 * 34, 0);
  for (size_t i = 0; i < q.size(); ++i) q[i] = uint8_t(i * 7);
  w.add_tensor_lazy("d.q8_0", GgmlType::Q8_0, {2, 64}, [q] { return q; });
  const std::string p = (t.dir / "rt.gguf").string();
  w.write(p);
  const GgufFile f = GgufFile::open(p);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), w.metadata().size());
  EXPECT_EQ(f.metadata()[5].first, "t.u32");
  EXPECT_EQ(f.get_int("t.u32"), 7);
  EXPECT_EQ(f.get_int("t.i8"), -100);
  EXPECT_EQ(f.get_uint("t.u64"), (1ULL << 63) + 5);
  EXPECT_EQ(f.get_float("t.f32"), double(0.1f));
  EXPECT_EQ(f.get_string_array("t.arr_str"), (std::vector<std::string>{"a", "bc", ""}));
  EXPECT_EQ(f.get("t.arr_arr").type_str(), "array[array]");
  const Tensor a = f.tensor("a.f32");
  EXPECT_EQ(a.shape(), (Shape{3, 5}));
  EXPECT_EQ(a.to_f64_vector()[14], double(formula(15)[14]));
  const auto raw = f.raw("d.q8_0");
  EXPECT_TRUE(std::vector<uint8_t>(raw.begin(), raw.end()) == q);
  EXPECT_EQ(f.tensor_info("d.q8_0").offset % 32, 0u);
}

TEST(GgufWrite, Errors) {
  GgufWriter w;
  w.add_tensor("x", GgmlType::F32, {2}, std::vector<uint8_t>(8));
  expect_error<ValueError>([&] { w.add_tensor("x", GgmlType::F32, {2}, std::vector<uint8_t>(8)); },
                           {"\"x\"", "duplicate"});
  expect_error<ValueError>([&] { w.add_tensor("", GgmlType::F32, {2}, std::vector<uint8_t>(8)); }, {"empty"});
  expect_error<ValueError>([&] { w.add_tensor(std::string(64, 'n'), GgmlType::F32, {2}, std::vector<uint8_t>(8)); },
                           {"64 bytes", "at most 63"});
  expect_error<ValueError>([&] { w.add_tensor("q", GgmlType::Q8_0, {2, 48}, std::vector<uint8_t>(68)); },
                           {"\"q\"", "Q8_0", "multiple of 32", "[2, 48]"});
  expect_error<ValueError>([&] { w.add_tensor("q", GgmlType::Q4_0, {2, 32}, std::vector<uint8_t>(40)); },
                           {"\"q\"", "Q4_0", "needs 36 bytes", "got 40"});
  expect_error<ValueError>([&] { w.add_tensor("d", GgmlType::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)); },
                           {"\"d\"", "1 to 4 dims"});
  expect_error<ValueError>([&] { w.add_tensor("z", GgmlType::F32, {0, 4}, {}); }, {"\"z\"", "> 0"});
  expect_error<ValueError>([&] { w.add_tensor("u", GgmlType(99), {4}, {}); }, {"unknown ggml type 99"});
  expect_error<ValueError>([&] { w.set("", io::gguf_u32(1)); }, {"key", "empty"});
  expect_error<ValueError>([&] { io::gguf_scalar(GgufValueType::U8, uint64_t(256)); }, {"256", "uint8"});
  expect_error<ValueError>([&] { io::gguf_scalar(GgufValueType::I16, int64_t(-40000)); }, {"-40000", "int16"});
  expect_error<ValueError>([&] { w.set("k", GgufValue{GgufValueType::STRING, uint64_t(3)}); },
                           {"k", "string", "must hold a string"});
  expect_error<ValueError>(
      [&] { w.set("mixed", arr(GgufValueType::I32, {io::gguf_i32(1), io::gguf_string("x")})); },
      {"mixed[1]", "string", "array of int32"});
  expect_error<ValueError>([&] { w.set_alignment(48); }, {"power of two", "48"});
  expect_error<ValueError>([&] { w.set("general.alignment", io::gguf_string("32")); }, {"uint32"});
  // A producer that returns the wrong size is caught at write time, and no file is left behind.
  TempDir t;
  GgufWriter lazy;
  lazy.add_tensor_lazy("l", GgmlType::F32, {4}, [] { return std::vector<uint8_t>(12); });
  const std::string p = (t.dir / "l.gguf").string();
  expect_error<ValueError>([&] { lazy.write(p); }, {"\"l\"", "needs 16 bytes", "gave 12"});
  EXPECT_FALSE(std::filesystem::exists(p));
  EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
  expect_error<IoError>([&] { lazy.write((t.dir / "no" / "such" / "dir.gguf").string()); },
                        {"no/such/dir.gguf", "cannot open for writing"});
  EXPECT_EQ(io::ggml_tensor_bytes(GgmlType::Q4_1, {3, 64}), 3u * 2 * 20);
  EXPECT_TRUE(w.erase("general.alignment") == false);
}

}  // namespace
}  // namespace tl::test
