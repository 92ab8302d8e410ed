// GGUF writer: the layout of gguf-py 0.19.0's GGUFWriter (see include/tl/io/gguf.h), so files written from the
// same content are byte-identical (checked by tests/io/gguf_write_test.cpp against fixtures written by
// gguf.GGUFWriter in scripts/gen_gguf_write_fixtures.py). Everything is validated before a byte is written.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "tl/error.h"
#include "tl/io/gguf.h"

namespace tl::io {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kVersion = 3;
constexpr size_t kMaxName = 64;  // GGML_MAX_NAME: names must fit with their NUL
constexpr int kMaxDims = 4;

uint64_t pad_to(uint64_t n, uint64_t a) {
  return (n + a - 1) / a * a;
}

template <class T>
void put(std::vector<uint8_t>& out, T v) {
  static_assert(std::is_trivially_copyable_v<T>);
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64), as the reader
  out.insert(out.end(), b, b + sizeof(T));
}

void put_str(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// Checks that `v` holds what its type says and fits it; `where` names the key (and array index).
void check_value(const GgufValue& v, const std::string& where, int depth) {
  auto bad = [&](const char* holds) {
    TL_THROW(ValueError, "[gguf-write] ", where, ": a value of type ", gguf_value_type_name(v.type),
             " must hold ", holds);
  };
  auto range_u = [&](uint64_t max) {
    if (!std::holds_alternative<uint64_t>(v.v)) bad("an unsigned integer (uint64_t)");
    if (std::get<uint64_t>(v.v) > max)
      TL_THROW(ValueError, "[gguf-write] ", where, ": ", std::get<uint64_t>(v.v), " does not fit ",
               gguf_value_type_name(v.type), " (max ", max, ")");
  };
  auto range_i = [&](int64_t lo, int64_t hi) {
    if (!std::holds_alternative<int64_t>(v.v)) bad("a signed integer (int64_t)");
    const int64_t x = std::get<int64_t>(v.v);
    if (x < lo || x > hi)
      TL_THROW(ValueError, "[gguf-write] ", where, ": ", x, " does not fit ", gguf_value_type_name(v.type),
               " [", lo, ", ", hi, "]");
  };
  switch (v.type) {
    case GgufValueType::U8: range_u(0xFF); break;
    case GgufValueType::U16: range_u(0xFFFF); break;
    case GgufValueType::U32: range_u(0xFFFFFFFFull); break;
    case GgufValueType::U64: range_u(std::numeric_limits<uint64_t>::max()); break;
    case GgufValueType::I8: range_i(-128, 127); break;
    case GgufValueType::I16: range_i(-32768, 32767); break;
    case GgufValueType::I32: range_i(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()); break;
    case GgufValueType::I64: range_i(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()); break;
    case GgufValueType::F32:
    case GgufValueType::F64:
      if (!std::holds_alternative<double>(v.v)) bad("a floating-point number (double)");
      break;
    case GgufValueType::BOOL:
      if (!std::holds_alternative<bool>(v.v)) bad("a bool");
      break;
    case GgufValueType::STRING:
      if (!std::holds_alternative<std::string>(v.v)) bad("a string");
      break;
    case GgufValueType::ARRAY: {
      if (!std::holds_alternative<GgufArray>(v.v)) bad("a GgufArray");
      if (depth >= 8) TL_THROW(ValueError, "[gguf-write] ", where, ": arrays nested deeper than 8");
      const GgufArray& a = std::get<GgufArray>(v.v);
      if (uint32_t(a.elem) > uint32_t(GgufValueType::F64))
        TL_THROW(ValueError, "[gguf-write] ", where, ": unknown array element type ", uint32_t(a.elem));
      for (size_t i = 0; i < a.values.size(); ++i) {
        const std::string w = where + "[" + std::to_string(i) + "]";
        if (a.values[i].type != a.elem)
          TL_THROW(ValueError, "[gguf-write] ", w, ": element of type ", gguf_value_type_name(a.values[i].type),
                   " in an array of ", gguf_value_type_name(a.elem));
        check_value(a.values[i], w, depth + 1);
      }
      break;
    }
    default:
      TL_THROW(ValueError, "[gguf-write] ", where, ": unknown value type ", uint32_t(v.type));
  }
}

// The value's bytes after its type tag (an array: element type, count, elements without tags).
void put_value(std::vector<uint8_t>& out, const GgufValue& v) {
  switch (v.type) {
    case GgufValueType::U8: put<uint8_t>(out, uint8_t(std::get<uint64_t>(v.v))); break;
    case GgufValueType::U16: put<uint16_t>(out, uint16_t(std::get<uint64_t>(v.v))); break;
    case GgufValueType::U32: put<uint32_t>(out, uint32_t(std::get<uint64_t>(v.v))); break;
    case GgufValueType::U64: put<uint64_t>(out, std::get<uint64_t>(v.v)); break;
    case GgufValueType::I8: put<int8_t>(out, int8_t(std::get<int64_t>(v.v))); break;
    case GgufValueType::I16: put<int16_t>(out, int16_t(std::get<int64_t>(v.v))); break;
    case GgufValueType::I32: put<int32_t>(out, int32_t(std::get<int64_t>(v.v))); break;
    case GgufValueType::I64: put<int64_t>(out, std::get<int64_t>(v.v)); break;
    case GgufValueType::F32: put<float>(out, float(std::get<double>(v.v))); break;
    case GgufValueType::F64: put<double>(out, std::get<double>(v.v)); break;
    case GgufValueType::BOOL: put<uint8_t>(out, std::get<bool>(v.v) ? 1 : 0); break;
    case GgufValueType::STRING: put_str(out, std::get<std::string>(v.v)); break;
    case GgufValueType::ARRAY: {
      const GgufArray& a = std::get<GgufArray>(v.v);
      put<uint32_t>(out, uint32_t(a.elem));
      put<uint64_t>(out, a.values.size());
      for (const GgufValue& e : a.values) put_value(out, e);
      break;
    }
  }
}

template <class T, class F>
GgufValue array_of(GgufValueType elem, const std::vector<T>& xs, F make) {
  GgufArray a;
  a.elem = elem;
  a.values.reserve(xs.size());
  for (const T& x : xs) a.values.push_back(make(x));
  GgufValue v;
  v.type = GgufValueType::ARRAY;
  v.v = std::move(a);
  return v;
}

}  // namespace

GgufValue gguf_u32(uint32_t v) {
  return GgufValue{GgufValueType::U32, uint64_t(v)};
}
GgufValue gguf_i32(int32_t v) {
  return GgufValue{GgufValueType::I32, int64_t(v)};
}
GgufValue gguf_u64(uint64_t v) {
  return GgufValue{GgufValueType::U64, v};
}
GgufValue gguf_f32(float v) {
  return GgufValue{GgufValueType::F32, double(v)};
}
GgufValue gguf_bool(bool v) {
  return GgufValue{GgufValueType::BOOL, v};
}
GgufValue gguf_string(std::string v) {
  return GgufValue{GgufValueType::STRING, std::move(v)};
}
GgufValue gguf_string_array(const std::vector<std::string>& v) {
  return array_of(GgufValueType::STRING, v, [](const std::string& s) { return gguf_string(s); });
}
GgufValue gguf_i32_array(const std::vector<int32_t>& v) {
  return array_of(GgufValueType::I32, v, [](int32_t x) { return gguf_i32(x); });
}
GgufValue gguf_f32_array(const std::vector<float>& v) {
  return array_of(GgufValueType::F32, v, [](float x) { return gguf_f32(x); });
}
GgufValue gguf_scalar(GgufValueType type, std::variant<uint64_t, int64_t, double, bool> x) {
  GgufValue v;
  v.type = type;
  std::visit([&](auto y) { v.v = y; }, x);
  check_value(v, std::string("gguf_scalar(") + gguf_value_type_name(type) + ")", 0);
  return v;
}

uint64_t ggml_tensor_bytes(GgmlType type, const Shape& shape) {
  if (!ggml_type_known(uint32_t(type)))
    TL_THROW(ValueError, "[gguf-write] unknown ggml type ", uint32_t(type));
  const int64_t bs = ggml_block_size(type);
  if (shape.empty() || shape.back() % bs != 0)
    TL_THROW(ValueError, "[gguf-write] a ", ggml_type_name(type), " tensor needs a row length (last dim) that is a ",
             "multiple of ", bs, ", got shape ", shape_str(shape));
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d <= 0) TL_THROW(ValueError, "[gguf-write] dims must be > 0, got shape ", shape_str(shape));
    if (__builtin_mul_overflow(n, uint64_t(d), &n))
      TL_THROW(ValueError, "[gguf-write] shape ", shape_str(shape), " overflows");
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n / uint64_t(bs), uint64_t(ggml_type_size(type)), &bytes))
    TL_THROW(ValueError, "[gguf-write] shape ", shape_str(shape), " overflows");
  return bytes;
}

void GgufWriter::set_alignment(uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    TL_THROW(ValueError, "[gguf-write] general.alignment must be a power of two > 0, got ", alignment);
  alignment_ = alignment;
  set_u32("general.alignment", alignment);
}

void GgufWriter::set(const std::string& key, GgufValue v) {
  if (key.empty()) TL_THROW(ValueError, "[gguf-write] metadata key: must not be empty");
  check_value(v, key, 0);
  if (key == "general.alignment") {
    if (v.type != GgufValueType::U32)
      TL_THROW(ValueError, "[gguf-write] general.alignment: expected type uint32, got ", v.type_str());
    const uint64_t a = std::get<uint64_t>(v.v);
    if (a == 0 || (a & (a - 1)) != 0)
      TL_THROW(ValueError, "[gguf-write] general.alignment must be a power of two > 0, got ", a);
    alignment_ = a;
  }
  for (auto& [k, old] : kv_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}

bool GgufWriter::erase(const std::string& key) {
  for (auto it = kv_.begin(); it != kv_.end(); ++it)
    if (it->first == key) {
      if (key == "general.alignment") alignment_ = 32;
      kv_.erase(it);
      return true;
    }
  return false;
}

const GgufValue* GgufWriter::find(std::string_view key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return &v;
  return nullptr;
}

void GgufWriter::check_new_tensor(const std::string& name, GgmlType type, const Shape& shape) const {
  if (name.empty()) TL_THROW(ValueError, "[gguf-write] tensor name: must not be empty");
  if (name.size() >= kMaxName)
    TL_THROW(ValueError, "[gguf-write] tensor \"", name, "\": name is ", name.size(), " bytes, expected at most ",
             kMaxName - 1, " (ggml's GGML_MAX_NAME)");
  for (const Entry& e : tensors_)
    if (e.name == name) TL_THROW(ValueError, "[gguf-write] tensor \"", name, "\": duplicate name");
  if (shape.empty() || shape.size() > size_t(kMaxDims))
    TL_THROW(ValueError, "[gguf-write] tensor \"", name, "\": expected 1 to ", kMaxDims, " dims, got shape ",
             shape_str(shape));
  try {
    (void)ggml_tensor_bytes(type, shape);
  } catch (const ValueError& e) {
    TL_THROW(ValueError, "[gguf-write] tensor \"", name, "\": ", std::string(e.what()).substr(13));
  }
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, const Shape& shape, std::vector<uint8_t> bytes) {
  check_new_tensor(name, type, shape);
  const uint64_t want = ggml_tensor_bytes(type, shape);
  if (bytes.size() != want)
    TL_THROW(ValueError, "[gguf-write] tensor \"", name, "\": ", ggml_type_name(type), " ", shape_str(shape),
             " needs ", want, " bytes, got ", bytes.size());
  tensors_.push_back({name, type, shape, want, std::move(bytes), {}});
}

void GgufWriter::add_tensor_lazy(const std::string& name, GgmlType type, const Shape& shape, Producer produce) {
  check_new_tensor(name, type, shape);
  if (!produce) TL_THROW(ValueError, "[gguf-write] tensor \"", name, "\": empty producer");
  tensors_.push_back({name, type, shape, ggml_tensor_bytes(type, shape), {}, std::move(produce)});
}

std::vector<uint8_t> GgufWriter::header() const {
  std::vector<uint8_t> out;
  put<uint32_t>(out, kMagic);
  put<uint32_t>(out, kVersion);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, kv_.size());
  for (const auto& [k, v] : kv_) {
    put_str(out, k);
    put<uint32_t>(out, uint32_t(v.type));
    put_value(out, v);
  }
  uint64_t offset = 0;
  for (const Entry& e : tensors_) {
    put_str(out, e.name);
    put<uint32_t>(out, uint32_t(e.shape.size()));
    for (size_t j = e.shape.size(); j-- > 0;) put<uint64_t>(out, uint64_t(e.shape[j]));  // ggml order
    put<uint32_t>(out, uint32_t(e.type));
    put<uint64_t>(out, offset);
    offset += pad_to(e.nbytes, alignment_);
  }
  out.resize(pad_to(out.size(), alignment_), 0);
  return out;
}

template <class Sink>
void GgufWriter::emit(Sink& sink) const {
  sink(header());
  for (const Entry& e : tensors_) {
    std::vector<uint8_t> produced;
    const std::vector<uint8_t>* b = &e.bytes;
    if (e.produce) {
      produced = e.produce();
      if (produced.size() != e.nbytes)
        TL_THROW(ValueError, "[gguf-write] tensor \"", e.name, "\": ", ggml_type_name(e.type), " ",
                 shape_str(e.shape), " needs ", e.nbytes, " bytes, the producer gave ", produced.size());
      b = &produced;
    }
    sink(*b);
    const uint64_t pad = pad_to(e.nbytes, alignment_) - e.nbytes;
    if (pad) sink(std::vector<uint8_t>(pad, 0));
  }
}

std::vector<uint8_t> GgufWriter::serialize() const {
  std::vector<uint8_t> out;
  auto sink = [&](const std::vector<uint8_t>& b) { out.insert(out.end(), b.begin(), b.end()); };
  emit(sink);
  return out;
}

uint64_t GgufWriter::write(const std::string& path) const {
  namespace fs = std::filesystem;
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) TL_THROW(IoError, "[gguf-write] ", path, ": cannot open for writing (", std::strerror(errno), ")");
  uint64_t written = 0;
  try {
    auto sink = [&](const std::vector<uint8_t>& b) {
      if (!b.empty() && std::fwrite(b.data(), 1, b.size(), f) != b.size())
        TL_THROW(IoError, "[gguf-write] ", path, ": write failed after ", written, " bytes (", std::strerror(errno),
                 ")");
      written += b.size();
    };
    emit(sink);
    if (std::fclose(f) != 0) {
      f = nullptr;
      TL_THROW(IoError, "[gguf-write] ", path, ": closing failed (", std::strerror(errno), ")");
    }
    f = nullptr;
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) TL_THROW(IoError, "[gguf-write] ", path, ": cannot rename ", tmp, " into place (", ec.message(), ")");
  } catch (...) {
    if (f) std::fclose(f);
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  return written;
}

}  // namespace tl::io
