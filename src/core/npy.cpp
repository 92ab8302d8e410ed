// .npy reader/writer. The header is a Python dict literal; we parse exactly the three keys NumPy writes.
#include "tl/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace tl {

namespace {

struct Header {
  std::string descr;
  bool fortran = false;
  Shape shape;
};

[[noreturn]] void fail(const std::string& name, const std::string& msg) { TL_THROW(IoError, "[npy] ", name, ": ", msg); }

// Finds `'key':` in the dict text and returns the position right after the colon.
size_t find_key(const std::string& h, const std::string& key, const std::string& name) {
  for (const char* q : {"'", "\""}) {
    std::string pat = std::string(q) + key + q;
    size_t p = h.find(pat);
    if (p != std::string::npos) {
      p = h.find(':', p + pat.size());
      if (p == std::string::npos) fail(name, "header key '" + key + "' has no value");
      return p + 1;
    }
  }
  fail(name, "header has no '" + key + "' key (header: " + h + ")");
}

size_t skip_ws(const std::string& h, size_t p) {
  while (p < h.size() && (h[p] == ' ' || h[p] == '\t' || h[p] == '\n')) ++p;
  return p;
}

Header parse_header(const std::string& h, const std::string& name) {
  Header r;
  size_t p = skip_ws(h, find_key(h, "descr", name));
  if (p >= h.size() || (h[p] != '\'' && h[p] != '"')) fail(name, "'descr' is not a string (header: " + h + ")");
  size_t e = h.find(h[p], p + 1);
  if (e == std::string::npos) fail(name, "unterminated 'descr' string");
  r.descr = h.substr(p + 1, e - p - 1);

  p = skip_ws(h, find_key(h, "fortran_order", name));
  if (h.compare(p, 4, "True") == 0) r.fortran = true;
  else if (h.compare(p, 5, "False") == 0) r.fortran = false;
  else fail(name, "'fortran_order' is neither True nor False");

  p = skip_ws(h, find_key(h, "shape", name));
  if (p >= h.size() || h[p] != '(') fail(name, "'shape' is not a tuple");
  ++p;
  while (true) {
    p = skip_ws(h, p);
    if (p >= h.size()) fail(name, "unterminated 'shape' tuple");
    if (h[p] == ')') break;
    if (h[p] < '0' || h[p] > '9') fail(name, std::string("unexpected character '") + h[p] + "' in 'shape'");
    int64_t v = 0;
    while (p < h.size() && h[p] >= '0' && h[p] <= '9') {
      if (v > (INT64_MAX - 9) / 10) fail(name, "dimension in 'shape' overflows 64 bits");
      v = v * 10 + (h[p++] - '0');
      if (p < h.size() && h[p] == 'L') ++p;
    }
    r.shape.push_back(v);
    if (r.shape.size() > 64) fail(name, "'shape' has more than 64 dimensions");
    p = skip_ws(h, p);
    if (p < h.size() && h[p] == ',') ++p;
  }
  return r;
}

// Maps a descr to our dtype; `f64` flags a float64 file that is converted to f32 on load.
DType descr_dtype(const std::string& d, const std::string& name, bool* f64) {
  *f64 = false;
  if (d.size() >= 2 && d[0] == '>' && d.substr(1) != "b1" && d.substr(1) != "u1")
    fail(name, "big-endian dtype '" + d + "' is not supported (expected little-endian '<')");
  std::string k = (d[0] == '<' || d[0] == '|' || d[0] == '=') ? d.substr(1) : d;
  if (k == "f4") return DType::f32;
  if (k == "f2") return DType::f16;
  if (k == "i4") return DType::i32;
  if (k == "i8") return DType::i64;
  if (k == "b1") return DType::boolean;
  if (k == "u1") return DType::u8;
  if (k == "f8") {
    *f64 = true;
    return DType::f32;
  }
  fail(name, "unsupported dtype '" + d + "' (expected one of <f4, <f8, <f2, <i4, <i8, |b1, |u1)");
}

const char* dtype_descr(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f16: return "<f2";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::boolean: return "|b1";
    case DType::u8: return "|u1";
    case DType::bf16: return "<f4";  // NumPy has no bf16; written exactly as f32
  }
  return "";
}

}  // namespace

Tensor parse_npy(std::span<const uint8_t> b, const std::string& name) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (b.size() < 10 || std::memcmp(b.data(), magic, 6) != 0) fail(name, "not a .npy file (bad magic)");
  uint8_t major = b[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = size_t(b[8]) | size_t(b[9]) << 8;
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) fail(name, "truncated header");
    hlen = size_t(b[8]) | size_t(b[9]) << 8 | size_t(b[10]) << 16 | size_t(b[11]) << 24;
    hstart = 12;
  } else {
    fail(name, "unsupported format version " + std::to_string(major) + " (expected 1, 2 or 3)");
  }
  if (hlen > b.size() - hstart)
    fail(name, "header length " + std::to_string(hlen) + " runs past the end of the file (" + std::to_string(b.size()) + " bytes)");
  std::string h(reinterpret_cast<const char*>(b.data() + hstart), hlen);
  Header hd = parse_header(h, name);
  if (hd.fortran) fail(name, "Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  bool f64;
  DType dt = descr_dtype(hd.descr, name, &f64);
  int64_t n = shape_numel(hd.shape);
  size_t es = f64 ? 8 : dtype_size(dt);
  size_t avail = b.size() - hstart - hlen;
  if (n > 0) {
    if (uint64_t(n) > avail / es)
      fail(name, "data is truncated: shape " + shape_str(hd.shape) + " needs " + std::to_string(uint64_t(n) * es) +
                     " bytes, file has " + std::to_string(avail));
  }
  const uint8_t* src = b.data() + hstart + hlen;
  Tensor t = Tensor::empty(hd.shape, dt);
  if (f64) {
    float* d = t.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, src + i * 8, 8);
      d[i] = float(v);
    }
  } else if (n > 0) {
    std::memcpy(t.raw_data(), src, size_t(n) * es);
    if (dt == DType::boolean) {
      uint8_t* p = static_cast<uint8_t*>(t.raw_data());
      for (int64_t i = 0; i < n; ++i) p[i] = p[i] != 0;
    }
  }
  return t;
}

Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) TL_THROW(IoError, "[npy] cannot open '", path, "'");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse_npy(bytes, path);
}

std::string serialize_npy(const Tensor& t0) {
  Tensor t = t0.dtype() == DType::bf16 ? t0.to(DType::f32) : t0.contiguous();
  std::string dict = std::string("{'descr': '") + dtype_descr(t.dtype()) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) dict += std::to_string(t.shape()[i]) + (t.rank() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
  dict += "), }";
  size_t total = 10 + dict.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  dict += std::string(pad, ' ') + "\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  out += char(dict.size() & 0xff);
  out += char(dict.size() >> 8);
  out += dict;
  out.append(static_cast<const char*>(t.raw_data()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string s = serialize_npy(t);
  std::ofstream f(path, std::ios::binary);
  if (!f) TL_THROW(IoError, "[npy] cannot open '", path, "' for writing");
  f.write(s.data(), std::streamsize(s.size()));
  if (!f) TL_THROW(IoError, "[npy] failed writing '", path, "'");
}

}  // namespace tl
