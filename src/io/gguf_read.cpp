// GGUF reader: a bounds-checked cursor over the mapping; every length is checked against the bytes left
// before anything is allocated, and every tensor's type, dims, data range and alignment at open().
#include <algorithm>
#include <cstring>

#include "tl/io/gguf.h"

namespace tl::io {

namespace {

constexpr int kMaxDims = 4;          // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;    // nested metadata arrays

[[noreturn]] void fail(const std::string& path, const std::string& field, const std::string& problem) {
  TL_THROW(IoError, "[gguf] ", path, ": ", field, ": ", problem);
}

const char* kValueNames[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                             "bool",  "string", "array", "uint64", "int64", "float64"};
// Smallest encoding of one value of each type, to bound array counts by the bytes left.
const uint64_t kMinSize[] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8};

class Cursor {
 public:
  Cursor(const std::string& path, std::span<const uint8_t> b) : path_(path), b_(b) {}
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return b_.size() - pos_; }
  const uint8_t* take(uint64_t n, const std::string& field) {
    if (n > left())
      fail(path_, field, "needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) + " but only " +
                             std::to_string(left()) + " remain in the file");
    const uint8_t* p = b_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <class T>
  T get(const std::string& field) {
    T v;
    std::memcpy(&v, take(sizeof(T), field), sizeof(T));
    return v;
  }
  std::string str(const std::string& field) {
    uint64_t n = get<uint64_t>(field + " length");
    if (n > left())
      fail(path_, field, "string length " + std::to_string(n) + " exceeds the " + std::to_string(left()) + " bytes left in the file");
    const uint8_t* p = take(n, field);
    return std::string(reinterpret_cast<const char*>(p), n);
  }

 private:
  const std::string& path_;
  std::span<const uint8_t> b_;
  uint64_t pos_ = 0;
};

GgufValue read_value(Cursor& c, const std::string& path, GgufValueType t, const std::string& field, int depth) {
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufValueType::U8: v.v = uint64_t(c.get<uint8_t>(field)); break;
    case GgufValueType::I8: v.v = int64_t(c.get<int8_t>(field)); break;
    case GgufValueType::U16: v.v = uint64_t(c.get<uint16_t>(field)); break;
    case GgufValueType::I16: v.v = int64_t(c.get<int16_t>(field)); break;
    case GgufValueType::U32: v.v = uint64_t(c.get<uint32_t>(field)); break;
    case GgufValueType::I32: v.v = int64_t(c.get<int32_t>(field)); break;
    case GgufValueType::U64: v.v = c.get<uint64_t>(field); break;
    case GgufValueType::I64: v.v = c.get<int64_t>(field); break;
    case GgufValueType::F32: v.v = double(c.get<float>(field)); break;
    case GgufValueType::F64: v.v = c.get<double>(field); break;
    case GgufValueType::BOOL: {
      uint8_t b = c.get<uint8_t>(field);
      if (b > 1) fail(path, field, "bool byte is " + std::to_string(b) + ", expected 0 or 1");
      v.v = b == 1;
      break;
    }
    case GgufValueType::STRING: v.v = c.str(field); break;
    case GgufValueType::ARRAY: {
      if (depth >= kMaxArrayDepth) fail(path, field, "arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      uint32_t et = c.get<uint32_t>(field + " element type");
      if (et > 12) fail(path, field, "unknown array element type " + std::to_string(et) + " (expected 0..12)");
      uint64_t n = c.get<uint64_t>(field + " count");
      if (n > c.left() / kMinSize[et])
        fail(path, field, "array of " + std::to_string(n) + " " + kValueNames[et] + " cannot fit in the " +
                              std::to_string(c.left()) + " bytes left in the file");
      GgufArray a;
      a.elem = GgufValueType(et);
      a.values.reserve(n);
      for (uint64_t i = 0; i < n; ++i) a.values.push_back(read_value(c, path, a.elem, field, depth + 1));
      v.v = std::move(a);
      break;
    }
  }
  return v;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

const char* gguf_value_type_name(GgufValueType t) {
  uint32_t i = uint32_t(t);
  return i <= 12 ? kValueNames[i] : "unknown";
}

std::string GgufValue::type_str() const {
  if (type == GgufValueType::ARRAY)
    return std::string("array[") + gguf_value_type_name(std::get<GgufArray>(v).elem) + "]";
  return gguf_value_type_name(type);
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // overflow-checked at open()
  return n;
}

GgufFile GgufFile::open(const std::string& path) { return from_mapping(MappedFile::open(path)); }

GgufFile GgufFile::from_mapping(std::shared_ptr<const MappedFile> file) {
  const std::string& path = file->path();
  GgufFile g;
  g.file_ = file;
  Cursor c(path, file->bytes());
  if (file->size() < 4 || std::memcmp(file->data(), "GGUF", 4) != 0) {
    std::string got;
    for (size_t i = 0; i < std::min<size_t>(4, file->size()); ++i) {
      char ch = char(file->data()[i]);
      got += (ch >= 32 && ch < 127) ? std::string(1, ch) : "\\x" + std::to_string(uint8_t(ch));
    }
    fail(path, "magic", "expected \"GGUF\", got \"" + got + "\"");
  }
  c.take(4, "magic");
  g.version_ = c.get<uint32_t>("version");
  if (g.version_ == 0x02000000u || g.version_ == 0x03000000u)
    fail(path, "version", "file is big-endian (version " + std::to_string(__builtin_bswap32(g.version_)) +
                              "); only little-endian GGUF files are supported");
  if (g.version_ != 2 && g.version_ != 3)
    fail(path, "version", "unsupported version " + std::to_string(g.version_) + " (supported: 2, 3)");
  uint64_t n_tensors = c.get<uint64_t>("tensor_count");
  uint64_t n_kv = c.get<uint64_t>("kv_count");
  // A key/value needs at least 8 (key length) + 4 (type) + 1 bytes, a tensor info 8 + 4 + 4 + 8.
  if (n_kv > c.left() / 13) fail(path, "kv_count", std::to_string(n_kv) + " entries cannot fit in a file of " + std::to_string(file->size()) + " bytes");
  if (n_tensors > c.left() / 24)
    fail(path, "tensor_count", std::to_string(n_tensors) + " tensors cannot fit in a file of " + std::to_string(file->size()) + " bytes");

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.str("metadata key #" + std::to_string(i));
    const std::string field = "metadata \"" + key + "\"";
    uint32_t t = c.get<uint32_t>(field + " type");
    if (t > 12) fail(path, field, "unknown value type " + std::to_string(t) + " (expected 0..12)");
    GgufValue v = read_value(c, path, GgufValueType(t), field, 0);
    if (!g.kv_index_.emplace(key, g.kv_.size()).second) fail(path, field, "duplicate key");
    g.kv_.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = g.find("general.alignment")) {
    if (a->type != GgufValueType::U32) fail(path, "metadata \"general.alignment\"", "expected uint32, got " + a->type_str());
    uint64_t al = std::get<uint64_t>(a->v);
    if (al == 0 || (al & (al - 1)) != 0) fail(path, "metadata \"general.alignment\"", std::to_string(al) + " is not a power of two");
    g.alignment_ = al;
  }

  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo ti;
    ti.name = c.str("tensor #" + std::to_string(i) + " name");
    const std::string field = "tensor \"" + ti.name + "\"";
    uint32_t nd = c.get<uint32_t>(field + " n_dims");
    if (nd > uint32_t(kMaxDims)) fail(path, field + " n_dims", std::to_string(nd) + " exceeds the maximum of " + std::to_string(kMaxDims));
    // The product of the non-zero dims must fit int64 too (strides of an empty tensor still use them).
    uint64_t span = 1;
    bool empty = false;
    for (uint32_t d = 0; d < nd; ++d) {
      uint64_t x = c.get<uint64_t>(field + " ne");
      if (x > uint64_t(INT64_MAX) || __builtin_mul_overflow(span, std::max<uint64_t>(x, 1), &span) || span > uint64_t(INT64_MAX))
        fail(path, field + " ne", "dimension " + std::to_string(d) + " = " + std::to_string(x) + " overflows the element count");
      empty = empty || x == 0;
      ti.ne.push_back(int64_t(x));
    }
    const uint64_t numel = empty ? 0 : span;
    uint32_t t = c.get<uint32_t>(field + " type");
    if (!ggml_type_known(t)) fail(path, field + " type", "unknown ggml type " + std::to_string(t));
    ti.type = GgmlType(t);
    ti.offset = c.get<uint64_t>(field + " offset");
    const int64_t bs = ggml_block_size(ti.type);
    int64_t row = ti.ne.empty() ? 1 : ti.ne[0];
    if (row % bs != 0)
      fail(path, field + " ne", "row length " + std::to_string(row) + " is not a multiple of the " + ggml_type_name(ti.type) +
                                    " block size " + std::to_string(bs));
    if (__builtin_mul_overflow(numel / uint64_t(bs), uint64_t(ggml_type_size(ti.type)), &ti.nbytes))
      fail(path, field + " ne", "byte size overflows 64 bits");
    ti.shape.assign(ti.ne.rbegin(), ti.ne.rend());
    if (!g.tensor_index_.emplace(ti.name, g.tensors_.size()).second) fail(path, field, "duplicate tensor name");
    g.tensors_.push_back(std::move(ti));
  }

  g.data_start_ = align_up(c.pos(), g.alignment_);
  if (g.data_start_ > file->size() && !g.tensors_.empty())
    fail(path, "data section", "starts at " + std::to_string(g.data_start_) + " beyond the end of the " + std::to_string(file->size()) + "-byte file");
  const uint64_t data_size = file->size() > g.data_start_ ? file->size() - g.data_start_ : 0;
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& ti : g.tensors_) {
    const std::string field = "tensor \"" + ti.name + "\" offset";
    if (ti.offset % g.alignment_ != 0)
      fail(path, field, std::to_string(ti.offset) + " is not a multiple of the alignment " + std::to_string(g.alignment_));
    if (ti.offset > data_size || ti.nbytes > data_size - ti.offset)
      fail(path, field, "data [" + std::to_string(ti.offset) + ", " + std::to_string(ti.offset) + " + " + std::to_string(ti.nbytes) +
                            ") exceeds the data section of " + std::to_string(data_size) + " bytes");
    by_offset.push_back(&ti);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i - 1]->offset + by_offset[i - 1]->nbytes > by_offset[i]->offset)
      fail(path, "tensor \"" + by_offset[i]->name + "\" offset",
           std::to_string(by_offset[i]->offset) + " overlaps tensor \"" + by_offset[i - 1]->name + "\"");
  return g;
}

// ---- metadata ----

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufValue& GgufFile::get(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) TL_THROW(ValueError, "[gguf] ", path(), ": metadata key \"", key, "\" is missing");
  return *v;
}

namespace {
[[noreturn]] void wrong_type(const std::string& path, std::string_view key, const char* expected, const GgufValue& v) {
  TL_THROW(ValueError, "[gguf] ", path, ": metadata key \"", key, "\": expected ", expected, ", got ", v.type_str());
}
int64_t as_int(const std::string& path, std::string_view key, const GgufValue& v) {
  if (auto* u = std::get_if<uint64_t>(&v.v)) {
    if (*u > uint64_t(INT64_MAX)) TL_THROW(ValueError, "[gguf] ", path, ": metadata key \"", key, "\": value ", *u, " does not fit int64");
    return int64_t(*u);
  }
  if (auto* i = std::get_if<int64_t>(&v.v)) return *i;
  wrong_type(path, key, "an integer", v);
}
double as_float(const std::string& path, std::string_view key, const GgufValue& v) {
  if (auto* d = std::get_if<double>(&v.v)) return *d;
  wrong_type(path, key, "float32 or float64", v);
}
}  // namespace

int64_t GgufFile::get_int(std::string_view key) const { return as_int(path(), key, get(key)); }
uint64_t GgufFile::get_uint(std::string_view key) const {
  const GgufValue& v = get(key);
  if (auto* u = std::get_if<uint64_t>(&v.v)) return *u;
  if (auto* i = std::get_if<int64_t>(&v.v); i && *i >= 0) return uint64_t(*i);
  wrong_type(path(), key, "a non-negative integer", v);
}
double GgufFile::get_float(std::string_view key) const { return as_float(path(), key, get(key)); }
bool GgufFile::get_bool(std::string_view key) const {
  const GgufValue& v = get(key);
  if (auto* b = std::get_if<bool>(&v.v)) return *b;
  wrong_type(path(), key, "bool", v);
}
const std::string& GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = get(key);
  if (auto* s = std::get_if<std::string>(&v.v)) return *s;
  wrong_type(path(), key, "string", v);
}
const GgufArray& GgufFile::get_array(std::string_view key) const {
  const GgufValue& v = get(key);
  if (auto* a = std::get_if<GgufArray>(&v.v)) return *a;
  wrong_type(path(), key, "array", v);
}
std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue& v = get(key);
  auto* a = std::get_if<GgufArray>(&v.v);
  if (!a || a->elem != GgufValueType::STRING) wrong_type(path(), key, "array[string]", v);
  std::vector<std::string> r;
  r.reserve(a->values.size());
  for (const GgufValue& e : a->values) r.push_back(std::get<std::string>(e.v));
  return r;
}
std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue& v = get(key);
  auto* a = std::get_if<GgufArray>(&v.v);
  const bool ints = a && a->elem != GgufValueType::F32 && a->elem != GgufValueType::F64 && a->elem != GgufValueType::BOOL &&
                    a->elem != GgufValueType::STRING && a->elem != GgufValueType::ARRAY;
  if (!ints) wrong_type(path(), key, "array of integers", v);
  std::vector<int64_t> r;
  r.reserve(a->values.size());
  for (const GgufValue& e : a->values) r.push_back(as_int(path(), key, e));
  return r;
}
std::vector<double> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue& v = get(key);
  auto* a = std::get_if<GgufArray>(&v.v);
  if (!a || (a->elem != GgufValueType::F32 && a->elem != GgufValueType::F64)) wrong_type(path(), key, "array of float32/float64", v);
  std::vector<double> r;
  r.reserve(a->values.size());
  for (const GgufValue& e : a->values) r.push_back(std::get<double>(e.v));
  return r;
}
int64_t GgufFile::get_int(std::string_view key, int64_t def) const { return has(key) ? get_int(key) : def; }
double GgufFile::get_float(std::string_view key, double def) const { return has(key) ? get_float(key) : def; }
bool GgufFile::get_bool(std::string_view key, bool def) const { return has(key) ? get_bool(key) : def; }
std::string GgufFile::get_string(std::string_view key, const std::string& def) const { return has(key) ? get_string(key) : def; }

GgufVocab GgufFile::vocab() const {
  GgufVocab v;
  v.model = get_string("tokenizer.ggml.model", "");
  v.pre = get_string("tokenizer.ggml.pre", "");
  if (has("tokenizer.ggml.tokens")) v.tokens = get_string_array("tokenizer.ggml.tokens");
  if (has("tokenizer.ggml.scores"))
    for (double s : get_float_array("tokenizer.ggml.scores")) v.scores.push_back(float(s));
  if (has("tokenizer.ggml.token_type"))
    for (int64_t t : get_int_array("tokenizer.ggml.token_type")) v.token_type.push_back(int32_t(t));
  if (has("tokenizer.ggml.merges")) v.merges = get_string_array("tokenizer.ggml.merges");
  auto id = [&](const char* k, std::optional<int64_t>& out) {
    if (has(k)) out = get_int(k);
  };
  id("tokenizer.ggml.bos_token_id", v.bos_id);
  id("tokenizer.ggml.eos_token_id", v.eos_id);
  id("tokenizer.ggml.unknown_token_id", v.unk_id);
  id("tokenizer.ggml.padding_token_id", v.pad_id);
  id("tokenizer.ggml.seperator_token_id", v.sep_id);  // sic: the key llama.cpp writes
  id("tokenizer.ggml.cls_token_id", v.cls_id);
  id("tokenizer.ggml.mask_token_id", v.mask_id);
  auto flag = [&](const char* k, std::optional<bool>& out) {
    if (has(k)) out = get_bool(k);
  };
  flag("tokenizer.ggml.add_bos_token", v.add_bos);
  flag("tokenizer.ggml.add_eos_token", v.add_eos);
  flag("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  v.chat_template = get_string("tokenizer.chat_template", "");
  const size_t n = v.tokens.size();
  if ((!v.scores.empty() && v.scores.size() != n) || (!v.token_type.empty() && v.token_type.size() != n))
    TL_THROW(ValueError, "[gguf] ", path(), ": tokenizer.ggml.scores/token_type have ", v.scores.size(), "/", v.token_type.size(),
             " entries but tokenizer.ggml.tokens has ", n);
  for (auto* idp : {&v.bos_id, &v.eos_id, &v.unk_id, &v.pad_id, &v.sep_id, &v.cls_id, &v.mask_id})
    if (*idp && (**idp < 0 || uint64_t(**idp) >= n) && n > 0)
      TL_THROW(ValueError, "[gguf] ", path(), ": special token id ", **idp, " is outside the vocabulary of ", n, " tokens");
  return v;
}

// ---- tensors ----

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}
const GgufTensorInfo& GgufFile::tensor_info(std::string_view name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (!t) TL_THROW(ValueError, "[gguf] ", path(), ": no tensor named \"", name, "\" (file has ", tensors_.size(), " tensors)");
  return *t;
}
std::span<const uint8_t> GgufFile::raw(std::string_view name) const {
  const GgufTensorInfo& t = tensor_info(name);
  return file_->bytes().subspan(data_start_ + t.offset, t.nbytes);
}

Tensor GgufFile::tensor(std::string_view name) const {
  const GgufTensorInfo& t = tensor_info(name);
  DType dt;
  switch (t.type) {
    case GgmlType::F32: dt = DType::f32; break;
    case GgmlType::F16: dt = DType::f16; break;
    case GgmlType::BF16: dt = DType::bf16; break;
    case GgmlType::I32: dt = DType::i32; break;
    case GgmlType::I64: dt = DType::i64; break;
    default:
      TL_THROW(ValueError, "[gguf] ", path(), ": tensor \"", name, "\" has type ", ggml_type_name(t.type),
               ", which has no Tensor dtype (use dequantize() or quantized())");
  }
  std::span<const uint8_t> b = raw(name);
  uint8_t* p = const_cast<uint8_t*>(b.data());
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(dt) == 0)
    return Tensor::wrap(p, t.shape, dt, std::const_pointer_cast<MappedFile>(file_));
  Tensor out = Tensor::empty(t.shape, dt);
  if (!b.empty()) std::memcpy(out.raw_data(), p, b.size());
  return out;
}

Tensor GgufFile::dequantize(std::string_view name) const {
  const GgufTensorInfo& t = tensor_info(name);
  if (t.type == GgmlType::F32) return tensor(name);
  if (!ggml_can_dequantize(t.type))
    TL_THROW(ValueError, "[gguf] ", path(), ": tensor \"", name, "\" has type ", ggml_type_name(t.type), ", which cannot be dequantised yet");
  Tensor out = Tensor::empty(t.shape, DType::f32);
  io::dequantize(t.type, raw(name).data(), out.data<float>(), t.numel());
  return out;
}

QuantTensor GgufFile::quantized(std::string_view name) const {
  const GgufTensorInfo& t = tensor_info(name);
  QuantTensor q;
  q.type = t.type;
  q.shape = t.shape;
  q.block_size = ggml_block_size(t.type);
  q.type_size = ggml_type_size(t.type);
  q.row_bytes = size_t((t.ne.empty() ? 1 : t.ne[0]) / q.block_size) * q.type_size;
  q.data = raw(name);
  q.owner = file_;
  return q;
}

int64_t QuantTensor::rows() const {
  int64_t r = 1;
  for (size_t d = 0; d + 1 < shape.size(); ++d) r *= shape[d];
  return r;
}

std::span<const uint8_t> QuantTensor::row(int64_t i) const {
  if (i < 0 || i >= rows()) TL_THROW(ValueError, "[gguf] QuantTensor::row: row ", i, " out of range [0, ", rows(), ")");
  return data.subspan(size_t(i) * row_bytes, row_bytes);
}

Tensor QuantTensor::dequantize() const {
  Tensor out = Tensor::empty(shape, DType::f32);
  io::dequantize(type, data.data(), out.data<float>(), out.numel());
  return out;
}

}  // namespace tl::io
