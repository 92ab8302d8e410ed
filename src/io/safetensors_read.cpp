// safetensors reader: header validation (every field checked against the file size before use), tensor
// views/copies/conversions, sharded checkpoints.
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <filesystem>

#include "tl/io/safetensors.h"
#include "tl/json.h"

namespace tl::io {

namespace {

constexpr uint64_t kMaxHeader = 100ull * 1000 * 1000;  // the reference's N_MAX_HEADER (100 MB)

[[noreturn]] void fail(const std::string& path, const std::string& field, const std::string& problem) {
  TL_THROW(IoError, "[safetensors] ", path, ": ", field, ": ", problem);
}

const char* kNames[] = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                        "BF16", "I32", "U32", "F32",  "F64", "I64", "U64"};
const size_t kSizes[] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};

std::string lfs_message(const std::string& path) {
  return "[safetensors] " + path +
         ": file is a git-lfs pointer, not tensor data (run `git lfs pull` or download the real file)";
}

// F8 E4M3FN (torch.float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN.
float f8_e4m3_to_f32(uint8_t b) {
  int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
  float v;
  if (e == 15 && m == 7) return std::numeric_limits<float>::quiet_NaN();
  if (e == 0) v = std::ldexp(float(m), -9);  // subnormal: m/8 * 2^-6
  else v = std::ldexp(float(8 + m), e - 10);  // (1 + m/8) * 2^(e-7)
  return s ? -v : v;
}
// F8 E5M2 is the high byte of an IEEE f16.
float f8_e5m2_to_f32(uint8_t b) { return f16_to_f32(uint16_t(uint16_t(b) << 8)); }

template <class T>
T rd(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void convert_to_f32(StDType t, const uint8_t* p, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float v = 0;
    switch (t) {
      case StDType::BOOL: v = p[i] != 0; break;
      case StDType::U8: v = float(p[i]); break;
      case StDType::I8: v = float(int8_t(p[i])); break;
      case StDType::F8_E5M2: v = f8_e5m2_to_f32(p[i]); break;
      case StDType::F8_E4M3: v = f8_e4m3_to_f32(p[i]); break;
      case StDType::I16: v = float(rd<int16_t>(p + 2 * i)); break;
      case StDType::U16: v = float(rd<uint16_t>(p + 2 * i)); break;
      case StDType::F16: v = f16_to_f32(rd<uint16_t>(p + 2 * i)); break;
      case StDType::BF16: v = bf16_to_f32(rd<uint16_t>(p + 2 * i)); break;
      case StDType::I32: v = float(rd<int32_t>(p + 4 * i)); break;
      case StDType::U32: v = float(rd<uint32_t>(p + 4 * i)); break;
      case StDType::F32: v = rd<float>(p + 4 * i); break;
      case StDType::F64: v = float(rd<double>(p + 8 * i)); break;
      case StDType::I64: v = float(rd<int64_t>(p + 8 * i)); break;
      case StDType::U64: v = float(rd<uint64_t>(p + 8 * i)); break;
    }
    out[i] = v;
  }
}

uint64_t read_u64le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

const char* st_dtype_name(StDType t) { return kNames[size_t(t)]; }
size_t st_dtype_size(StDType t) { return kSizes[size_t(t)]; }
StDType st_dtype_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kNames); ++i)
    if (name == kNames[i]) return StDType(i);
  TL_THROW(ValueError, "unknown safetensors dtype \"", name,
           "\" (expected one of BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)");
}
std::optional<DType> st_to_dtype(StDType t) {
  switch (t) {
    case StDType::F32: return DType::f32;
    case StDType::F16: return DType::f16;
    case StDType::BF16: return DType::bf16;
    case StDType::I32: return DType::i32;
    case StDType::I64: return DType::i64;
    case StDType::BOOL: return DType::boolean;
    case StDType::U8: return DType::u8;
    default: return std::nullopt;
  }
}
StDType st_from_dtype(DType t) {
  switch (t) {
    case DType::f32: return StDType::F32;
    case DType::f16: return StDType::F16;
    case DType::bf16: return StDType::BF16;
    case DType::i32: return StDType::I32;
    case DType::i64: return StDType::I64;
    case DType::boolean: return StDType::BOOL;
    case DType::u8: return StDType::U8;
  }
  TL_THROW(InternalError, "st_from_dtype: bad dtype ", int(t));
}

int64_t StTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // checked when the header was read
  return n;
}

bool is_git_lfs_pointer(std::span<const uint8_t> bytes) {
  static const char kPrefix[] = "version https://git-lfs.github.com/spec/";
  size_t n = sizeof(kPrefix) - 1;
  return bytes.size() >= n && std::memcmp(bytes.data(), kPrefix, n) == 0;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) { return from_mapping(MappedFile::open(path)); }

SafetensorsFile SafetensorsFile::from_mapping(std::shared_ptr<const MappedFile> file) {
  const std::string& path = file->path();
  std::span<const uint8_t> b = file->bytes();
  if (is_git_lfs_pointer(b)) throw IoError(lfs_message(path));
  if (b.size() < 8) fail(path, "header length", "file is " + std::to_string(b.size()) + " bytes, shorter than the 8-byte header length");
  uint64_t n = read_u64le(b.data());
  if (n > kMaxHeader)
    fail(path, "header length", std::to_string(n) + " bytes exceeds the 100 MB limit");
  if (n > b.size() - 8)
    fail(path, "header length", std::to_string(n) + " bytes but the file has only " + std::to_string(b.size() - 8) +
                                    " bytes after the length");
  if (n < 2 || b[8] != '{') fail(path, "header", "does not start with '{' (a JSON object is required)");
  std::string_view text(reinterpret_cast<const char*>(b.data() + 8), n);
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const ParseError& e) {
    fail(path, "header", std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) fail(path, "header", std::string("expected a JSON object, got ") + json::type_name(root.type()));

  SafetensorsFile f;
  f.file_ = file;
  f.data_start_ = 8 + n;
  const uint64_t data_size = b.size() - f.data_start_;
  for (const json::Member& m : root.as_object()) {
    if (m.key == "__metadata__") {
      if (!m.value.is_object())
        fail(path, "__metadata__", std::string("expected an object of strings, got ") + json::type_name(m.value.type()));
      for (const json::Member& kv : m.value.as_object()) {
        if (!kv.value.is_string())
          fail(path, "__metadata__." + kv.key, std::string("expected a string, got ") + json::type_name(kv.value.type()));
        f.metadata_[kv.key] = kv.value.as_string();
      }
      continue;
    }
    const std::string field = "tensor \"" + m.key + "\"";
    if (!m.value.is_object()) fail(path, field, std::string("expected an object, got ") + json::type_name(m.value.type()));
    const json::Value* dt = m.value.find("dtype");
    const json::Value* sh = m.value.find("shape");
    const json::Value* off = m.value.find("data_offsets");
    if (!dt || !sh || !off) fail(path, field, "missing \"dtype\", \"shape\" or \"data_offsets\"");
    StTensorInfo info;
    info.name = m.key;
    if (!dt->is_string()) fail(path, field + " dtype", std::string("expected a string, got ") + json::type_name(dt->type()));
    try {
      info.dtype = st_dtype_from_name(dt->as_string());
    } catch (const ValueError& e) {
      fail(path, field + " dtype", e.what());
    }
    if (!sh->is_array()) fail(path, field + " shape", std::string("expected an array, got ") + json::type_name(sh->type()));
    // The product of the non-zero dims must fit int64 too (strides of an empty tensor still use them).
    uint64_t span = 1;
    bool empty = false;
    for (const json::Value& d : sh->as_array()) {
      if (!d.is_int() || d.as_int() < 0) fail(path, field + " shape", "expected non-negative integers, got " + json::dump(*sh));
      if (__builtin_mul_overflow(span, uint64_t(std::max<int64_t>(d.as_int(), 1)), &span) || span > uint64_t(INT64_MAX))
        fail(path, field + " shape", json::dump(*sh) + " has more than 2^63 elements");
      empty = empty || d.as_int() == 0;
      info.shape.push_back(d.as_int());
    }
    const uint64_t numel = empty ? 0 : span;
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, uint64_t(st_dtype_size(info.dtype)), &nbytes))
      fail(path, field + " shape", json::dump(*sh) + " x " + st_dtype_name(info.dtype) + " overflows 64 bits");
    if (!off->is_array() || off->as_array().size() != 2 || !off->as_array()[0].is_int() || !off->as_array()[1].is_int() ||
        off->as_array()[0].as_int() < 0 || off->as_array()[1].as_int() < 0)
      fail(path, field + " data_offsets", "expected [begin, end] with non-negative integers, got " + json::dump(*off));
    info.begin = uint64_t(off->as_array()[0].as_int());
    info.end = uint64_t(off->as_array()[1].as_int());
    if (info.end < info.begin) fail(path, field + " data_offsets", "end " + std::to_string(info.end) + " < begin " + std::to_string(info.begin));
    if (info.end > data_size)
      fail(path, field + " data_offsets",
           "[" + std::to_string(info.begin) + ", " + std::to_string(info.end) + "] exceeds the data section of " +
               std::to_string(data_size) + " bytes");
    if (info.end - info.begin != nbytes)
      fail(path, field + " data_offsets",
           "span " + std::to_string(info.end - info.begin) + " bytes but shape " + shape_str(info.shape) + " x " +
               st_dtype_name(info.dtype) + " needs " + std::to_string(nbytes));
    f.infos_.push_back(std::move(info));
  }
  // Same rule as the reference: sorted by offset the tensors tile the data section exactly.
  std::sort(f.infos_.begin(), f.infos_.end(), [](const StTensorInfo& a, const StTensorInfo& c) {
    return a.begin != c.begin ? a.begin < c.begin : a.end < c.end;
  });
  uint64_t pos = 0;
  for (const StTensorInfo& t : f.infos_) {
    if (t.begin < pos)
      fail(path, "tensor \"" + t.name + "\" data_offsets",
           "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "] overlaps the previous tensor ending at " + std::to_string(pos));
    if (t.begin > pos)
      fail(path, "tensor \"" + t.name + "\" data_offsets",
           "begins at " + std::to_string(t.begin) + " leaving a gap after byte " + std::to_string(pos));
    pos = t.end;
  }
  if (pos != data_size)
    fail(path, "data_offsets", "tensors cover " + std::to_string(pos) + " bytes but the data section has " + std::to_string(data_size));
  for (size_t i = 0; i < f.infos_.size(); ++i) f.index_[f.infos_[i].name] = i;
  return f;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> r;
  for (const auto& t : infos_) r.push_back(t.name);
  std::sort(r.begin(), r.end());
  return r;
}

const StTensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &infos_[it->second];
}

const StTensorInfo& SafetensorsFile::info(std::string_view name) const {
  const StTensorInfo* t = find(name);
  if (!t) TL_THROW(ValueError, "[safetensors] ", path(), ": no tensor named \"", name, "\" (file has ", infos_.size(), " tensors)");
  return *t;
}

std::span<const uint8_t> SafetensorsFile::raw(std::string_view name) const {
  const StTensorInfo& t = info(name);
  return file_->bytes().subspan(data_start_ + t.begin, t.nbytes());
}

Tensor SafetensorsFile::load(std::string_view name, Convert conv) const {
  const StTensorInfo& t = info(name);
  std::span<const uint8_t> bytes = raw(name);
  if (conv == Convert::to_f32 && t.dtype != StDType::F32) {
    Tensor out = Tensor::empty(t.shape, DType::f32);
    convert_to_f32(t.dtype, bytes.data(), out.data<float>(), t.numel());
    return out;
  }
  std::optional<DType> dt = st_to_dtype(t.dtype);
  if (!dt)
    TL_THROW(ValueError, "[safetensors] ", path(), ": tensor \"", name, "\" has dtype ", st_dtype_name(t.dtype),
             ", which Tensor cannot hold (F32, F16, BF16, I32, I64, BOOL, U8); load it with Convert::to_f32");
  if (*dt == DType::boolean) {  // bytes other than 0/1 are not valid C++ bools: normalise into a copy
    Tensor out = Tensor::empty(t.shape, DType::boolean);
    bool* o = out.data<bool>();
    for (size_t i = 0; i < bytes.size(); ++i) o[i] = bytes[i] != 0;
    return out;
  }
  uint8_t* p = const_cast<uint8_t*>(bytes.data());
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(*dt) == 0)
    return Tensor::wrap(p, t.shape, *dt, std::const_pointer_cast<MappedFile>(file_));
  Tensor out = Tensor::empty(t.shape, *dt);  // misaligned (header length not a multiple of the element size)
  if (!bytes.empty()) std::memcpy(out.raw_data(), p, bytes.size());
  return out;
}

// ---- sharded checkpoints ----

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& path) {
  namespace fs = std::filesystem;
  SafetensorsCheckpoint c;
  c.path_ = path;
  fs::path p(path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "model.safetensors.index.json", ec)) p /= "model.safetensors.index.json";
    else if (fs::exists(p / "model.safetensors", ec)) p /= "model.safetensors";
    else TL_THROW(IoError, "[safetensors] ", path, ": directory has neither model.safetensors.index.json nor model.safetensors");
  }
  if (p.extension() != ".json") {
    c.files_.push_back(SafetensorsFile::open(p.string()));
    for (const auto& t : c.files_[0].tensors()) c.where_[t.name] = 0;
    return c;
  }
  const std::string ipath = p.string();
  std::string text = read_text_file(ipath);
  if (is_git_lfs_pointer({reinterpret_cast<const uint8_t*>(text.data()), text.size()}))
    throw IoError(lfs_message(ipath));
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const ParseError& e) {
    TL_THROW(IoError, "[safetensors] ", ipath, ": index is not valid JSON: ", e.what());
  }
  const json::Value* wm = root.find("weight_map");
  if (!wm || !wm->is_object())
    TL_THROW(IoError, "[safetensors] ", ipath, ": weight_map: expected an object {tensor: shard file}, got ",
             wm ? json::type_name(wm->type()) : "nothing");
  std::map<std::string, size_t> shard_index;
  for (const json::Member& m : wm->as_object()) {
    if (!m.value.is_string())
      TL_THROW(IoError, "[safetensors] ", ipath, ": weight_map.\"", m.key, "\": expected a file name, got ", json::type_name(m.value.type()));
    const std::string& shard = m.value.as_string();
    fs::path sp(shard);
    bool escapes = sp.is_absolute() || shard.empty();
    for (const auto& part : sp) escapes = escapes || part == "..";
    if (escapes)
      TL_THROW(IoError, "[safetensors] ", ipath, ": weight_map.\"", m.key, "\": shard \"", shard, "\" is not a relative path inside the checkpoint directory");
    auto it = shard_index.find(shard);
    if (it == shard_index.end()) {
      c.files_.push_back(SafetensorsFile::open((p.parent_path() / sp).string()));
      it = shard_index.emplace(shard, c.files_.size() - 1).first;
    }
    if (!c.files_[it->second].find(m.key))
      TL_THROW(IoError, "[safetensors] ", ipath, ": weight_map.\"", m.key, "\": tensor not found in shard ", shard);
    c.where_[m.key] = it->second;
  }
  return c;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> r;
  for (const auto& kv : where_) r.push_back(kv.first);
  std::sort(r.begin(), r.end());
  return r;
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(std::string_view name) const {
  auto it = where_.find(std::string(name));
  if (it == where_.end())
    TL_THROW(ValueError, "[safetensors] ", path_, ": no tensor named \"", name, "\" (checkpoint has ", where_.size(), " tensors)");
  return files_[it->second];
}
const StTensorInfo& SafetensorsCheckpoint::info(std::string_view name) const { return file_of(name).info(name); }
Tensor SafetensorsCheckpoint::load(std::string_view name, Convert conv) const { return file_of(name).load(name, conv); }
std::map<std::string, Tensor> SafetensorsCheckpoint::load_all(Convert conv) const {
  std::map<std::string, Tensor> r;
  for (const auto& [name, i] : where_) r.emplace(name, files_[i].load(name, conv));
  return r;
}

}  // namespace tl::io
