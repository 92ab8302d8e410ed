// safetensors against the Python package 0.6.2: every dtype read and converted as torch converts it, views
// vs copies, the writer byte-identical to the reference, sharded checkpoints.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "io_test_util.h"
#include "tl/io/safetensors.h"

namespace tl::test {
namespace {

using io::Convert;
using io::SafetensorsFile;

TEST(Safetensors, AllDtypesToF32MatchTorch) {
  SafetensorsFile f = SafetensorsFile::open(io_fixture("st_all_dtypes.safetensors"));
  EXPECT_EQ(f.tensors().size(), 17u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  for (const std::string& name : f.names()) {
    Tensor got = f.load(name, Convert::to_f32);
    Tensor want = read_npy(io_fixture("st_all_dtypes." + name + ".npy"));
    EXPECT_EQ(got.dtype(), DType::f32);
    // Exact: every conversion is exact or rounds to nearest as torch's .to(float32) does (F64, I64, U64, U32).
    EXPECT_EQ(max_abs_diff(got, want), 0.0) << name;
  }
  EXPECT_EQ(f.info("f8_e4m3").dtype, io::StDType::F8_E4M3);
  EXPECT_EQ(shape_str(f.info("scalar").shape), "[]");
  EXPECT_EQ(f.load("empty").numel(), 0);
}

TEST(Safetensors, KeepDtypeViewsAlignedData) {
  SafetensorsFile f = SafetensorsFile::open(io_fixture("st_all_dtypes.safetensors"));
  for (const char* name : {"f32", "f16", "bf16", "i32", "i64"}) {
    Tensor t = f.load(name);
    EXPECT_EQ(io::st_from_dtype(t.dtype()), f.info(name).dtype) << name;
    std::span<const uint8_t> raw = f.raw(name);
    // Aligned in the mapping (the reference pads the header to 8 bytes) -> a zero-copy view.
    EXPECT_EQ(static_cast<const void*>(t.raw_data()), static_cast<const void*>(raw.data())) << name;
    // The .npy holds torch's f32 conversion, so compare this tensor's own exact f32 conversion.
    EXPECT_EQ(max_abs_diff(t.to(DType::f32), read_npy(io_fixture(std::string("st_all_dtypes.") + name + ".npy"))), 0.0) << name;
  }
  Tensor b = f.load("bool");  // bool bytes are normalised into a copy
  EXPECT_EQ(b.dtype(), DType::boolean);
  EXPECT_EQ(max_abs_diff(b, read_npy(io_fixture("st_all_dtypes.bool.npy"))), 0.0);
  Tensor h = f.load("f16", Convert::to_f32);
  EXPECT_EQ(h.dtype(), DType::f32);
  expect_error<ValueError>([&] { f.load("u16"); }, {"st_all_dtypes.safetensors", "\"u16\"", "U16", "Convert::to_f32"});
  expect_error<ValueError>([&] { f.load("nope"); }, {"st_all_dtypes.safetensors", "no tensor named \"nope\""});
}

TEST(Safetensors, ViewKeepsMappingAlive) {
  Tensor t;
  {
    SafetensorsFile f = SafetensorsFile::open(io_fixture("st_all_dtypes.safetensors"));
    t = f.load("f32");
  }
  Tensor want = read_npy(io_fixture("st_all_dtypes.f32.npy"));
  EXPECT_EQ(max_abs_diff(t, want), 0.0);
  const int64_t i00[] = {0, 0};
  t.set(i00, 42.0);  // a private copy-on-write page: the file is untouched
  EXPECT_EQ(t.get({0, 0}), 42.0);
  EXPECT_EQ(SafetensorsFile::open(io_fixture("st_all_dtypes.safetensors")).load("f32").get({0, 0}), want.get({0, 0}));
}

TEST(Safetensors, WriterIsByteIdenticalToReference) {
  for (const char* file : {"st_roundtrip.safetensors", "st_nometa.safetensors", "st_sharded/model-00002-of-00002.safetensors"}) {
    SafetensorsFile f = SafetensorsFile::open(io_fixture(file));
    io::NamedTensors ts;
    // Insert in reverse name order: the writer must sort as the reference does.
    std::vector<std::string> names = f.names();
    for (auto it = names.rbegin(); it != names.rend(); ++it) ts.emplace_back(*it, f.load(*it));
    std::string got = io::serialize_safetensors(ts, f.metadata());
    EXPECT_EQ(got, read_bytes(io_fixture(file))) << file;
  }
}

TEST(Safetensors, SaveLoadRoundTripFromNonContiguous) {
  TempDir tmp;
  Tensor a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6}).transpose(0, 1);  // [3, 2] view
  Tensor b = Tensor::from_vector<int64_t>({2}, {-5, 7});
  Tensor h = Tensor::from_vector<float>({3}, {0.5f, -2.f, 65504.f}).to(DType::f16);
  std::string p = (tmp.dir / "x.safetensors").string();
  io::save_safetensors(p, {{"a", a}, {"b", b}, {"h", h}}, {{"format", "pt"}});
  SafetensorsFile f = SafetensorsFile::open(p);
  EXPECT_EQ(max_abs_diff(f.load("a"), a), 0.0);
  EXPECT_EQ(max_abs_diff(f.load("b"), b), 0.0);
  EXPECT_EQ(f.load("h").dtype(), DType::f16);
  EXPECT_EQ(max_abs_diff(f.load("h"), h), 0.0);
  EXPECT_EQ(f.data_start() % 8, 0u);
  expect_error<ValueError>([&] { io::serialize_safetensors({{"a", a}, {"a", b}}); }, {"duplicate tensor name \"a\""});
  expect_error<ValueError>([&] { io::serialize_safetensors({{"__metadata__", a}}); }, {"reserved"});
}

TEST(Safetensors, ShardedCheckpoint) {
  for (std::string path : {io_fixture("st_sharded"), io_fixture("st_sharded/model.safetensors.index.json")}) {
    io::SafetensorsCheckpoint c = io::SafetensorsCheckpoint::open(path);
    EXPECT_EQ(c.files().size(), 2u);
    EXPECT_EQ(c.names(), (std::vector<std::string>{"a.weight", "b.weight", "c.weight"}));
    for (const std::string& n : c.names())
      EXPECT_EQ(max_abs_diff(c.load(n, Convert::to_f32), read_npy(io_fixture("st_sharded." + n + ".npy"))), 0.0) << n;
    EXPECT_EQ(c.info("c.weight").dtype, io::StDType::F16);
    std::map<std::string, Tensor> all = c.load_all(Convert::to_f32);
    EXPECT_EQ(all.size(), 3u);
    EXPECT_EQ(all.at("c.weight").dtype(), DType::f32);
    expect_error<ValueError>([&] { c.load("zz"); }, {"no tensor named \"zz\""});
  }
  io::SafetensorsCheckpoint one = io::SafetensorsCheckpoint::open(io_fixture("st_nometa.safetensors"));
  EXPECT_EQ(one.names(), std::vector<std::string>{"w"});
}

TEST(Safetensors, ShardedCheckpointErrors) {
  TempDir tmp;
  tmp.write("model.safetensors.index.json", R"({"weight_map": {"w": "../escape.safetensors"}})");
  expect_error<IoError>([&] { io::SafetensorsCheckpoint::open(tmp.dir.string()); }, {"weight_map.\"w\"", "not a relative path"});
  tmp.write("model.safetensors.index.json", R"({"weight_map": {"q": "s.safetensors"}})");
  std::filesystem::copy_file(io_fixture("st_nometa.safetensors"), tmp.dir / "s.safetensors");
  expect_error<IoError>([&] { io::SafetensorsCheckpoint::open(tmp.dir.string()); }, {"weight_map.\"q\"", "not found in shard s.safetensors"});
  tmp.write("model.safetensors.index.json", R"({"weight_map": {"q": 3}})");
  expect_error<IoError>([&] { io::SafetensorsCheckpoint::open(tmp.dir.string()); }, {"expected a file name, got integer"});
  tmp.write("model.safetensors.index.json", R"({"metadata": {}})");
  expect_error<IoError>([&] { io::SafetensorsCheckpoint::open(tmp.dir.string()); }, {"weight_map", "got nothing"});
  tmp.write("model.safetensors.index.json", R"({"weight_map": {"w": "missing.safetensors"}})");
  expect_error<IoError>([&] { io::SafetensorsCheckpoint::open(tmp.dir.string()); }, {"missing.safetensors", "No such file"});
  std::filesystem::remove(tmp.dir / "model.safetensors.index.json");
  std::filesystem::remove(tmp.dir / "s.safetensors");
  expect_error<IoError>([&] { io::SafetensorsCheckpoint::open(tmp.dir.string()); }, {"neither model.safetensors.index.json nor model.safetensors"});
}

TEST(Safetensors, GitLfsPointer) {
  TempDir tmp;
  std::string ptr = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 538970384\n";
  std::string p = tmp.write("model.safetensors", ptr);
  expect_error<IoError>([&] { SafetensorsFile::open(p); }, {"model.safetensors", "git-lfs pointer", "git lfs pull"});
  expect_error<IoError>([&] { io::SafetensorsCheckpoint::open(tmp.dir.string()); }, {"git-lfs pointer"});
}

TEST(Mmap, MissingFileAndDirectory) {
  expect_error<IoError>([] { io::MappedFile::open("/nonexistent/dir/w.safetensors"); }, {"/nonexistent/dir/w.safetensors", "No such file"});
  TempDir tmp;
  expect_error<IoError>([&] { io::MappedFile::open(tmp.dir.string()); }, {tmp.dir.string(), "not a regular file"});
  auto m = io::MappedFile::open(tmp.write("empty", ""));
  EXPECT_EQ(m->size(), 0u);
  expect_error<IoError>([&] { io::read_text_file(tmp.dir.string()); }, {"is a directory"});
}

// Resident bytes of the mapping that starts at `p` (its "Rss:" line in /proc/self/smaps), or -1 if not found.
long mapping_rss_kib(const void* p) {
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool in = false;
  while (std::getline(f, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) {
      in = lo == reinterpret_cast<uintptr_t>(p);
      continue;
    }
    long kib = 0;
    if (in && std::sscanf(line.c_str(), "Rss: %ld kB", &kib) == 1) return kib;
  }
  return -1;
}

// drop_resident releases a read mapping's pages (loaders call it on bytes they converted), keeps the bytes
// readable (re-read from the file), and leaves ranges outside the mapping and buffer stand-ins alone.
TEST(Mmap, DropResidentReleasesPagesAndKeepsTheBytes) {
  TempDir tmp;
  std::string bytes(size_t(4) << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 131 % 251);
  auto m = io::MappedFile::open(tmp.write("big.bin", bytes));
  long sum = 0;
  for (size_t i = 0; i < m->size(); i += 4096) sum += m->data()[i];  // touch every page
  EXPECT_GT(sum, 0);
  EXPECT_GE(mapping_rss_kib(m->data()), 4000);
  m->drop_resident(m->bytes().subspan(1, 100));  // no whole page inside: nothing dropped
  EXPECT_GE(mapping_rss_kib(m->data()), 4000);
  m->drop_resident(m->bytes().subspan(4096 * 10));  // pages 10.. of 1024
  const long after = mapping_rss_kib(m->data());
  EXPECT_LE(after, 10 * 4);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), bytes);  // re-read intact
  std::string other(8192, 'x');
  m->drop_resident(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(other.data()), other.size()));
  EXPECT_EQ(other, std::string(8192, 'x'));
  auto buf = io::MappedFile::from_buffer(bytes, "buf");
  buf->drop_resident(buf->bytes());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf->data()), buf->size()), bytes);
}

}  // namespace
}  // namespace tl::test
