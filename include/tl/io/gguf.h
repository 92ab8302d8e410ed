// GGUF (llama.cpp's model format), versions 2 and 3: header, metadata key/values (every value type,
// arrays included), tensor infos, general.alignment, tensor data. The whole file is checked at open():
// string and array lengths against the bytes left, dimension counts (<= 4) and products, tensor types,
// each tensor's data range and alignment; errors are IoError "[gguf] <path>: <field>: <problem>".
// Tensors come out three ways: a zero-copy Tensor view for plain types, f32 by dequantising exactly as
// ggml defines each type, or a QuantTensor handle (raw blocks + type) for kernels that work on blocks.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "tl/io/mmap.h"
#include "tl/tensor.h"

namespace tl::io {

// ggml tensor types (numbers as in ggml.h). Dequantisation is implemented for F32, F16, BF16, Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0, Q4_K, Q6_K, I8, I16, I32, I64, F64; other known types load as QuantTensor only.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35,
};
const char* ggml_type_name(GgmlType t);  // "Q8_0", ...; "unknown" for numbers outside the table
bool ggml_type_known(uint32_t t);
int64_t ggml_block_size(GgmlType t);    // elements per block (1 for plain types)
size_t ggml_type_size(GgmlType t);      // bytes per block
bool ggml_can_dequantize(GgmlType t);
// Dequantises `n` elements (a multiple of the block size) from `src` (n / block_size blocks) into dst.
// Throws ValueError on an unsupported type or a count that is not a whole number of blocks.
void dequantize(GgmlType t, const uint8_t* src, float* dst, int64_t n);

// Metadata value types (numbers as in the GGUF spec).
enum class GgufValueType : uint32_t { U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
                                      STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12 };
const char* gguf_value_type_name(GgufValueType t);  // "uint32", "string", "array", ...

struct GgufValue;
// A metadata array: one element type; elements stored widened (integers as int64/uint64, floats as double).
struct GgufArray {
  GgufValueType elem = GgufValueType::U8;
  std::vector<GgufValue> values;
};
struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  // U8..U64 -> uint64_t, I8..I64 -> int64_t, F32/F64 -> double, BOOL -> bool, STRING -> string, ARRAY.
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v;
  // Human-readable type: "uint32", "array[string]".
  std::string type_str() const;
};

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the fastest-varying (row length)
  Shape shape;              // row-major (NumPy/PyTorch) order: ne reversed, e.g. [rows, cols]
  uint64_t offset = 0;      // byte offset from the start of the data section
  uint64_t nbytes = 0;
  int64_t numel() const;
};

// Raw quantised blocks of one tensor, for kernels that work on blocks directly (e.g. Q8_0 matmul).
// Rows are ne[0] = shape.back() elements = row_bytes bytes; `data` stays valid while `owner` lives.
// Block layouts (little-endian, packed, as ggml): Q8_0 = {f16 d; int8 qs[32]} (x = d * q);
// Q4_0 = {f16 d; u8 qs[16]} (x = d * (nibble - 8), low nibbles are elements 0..15, high 16..31);
// Q4_1 = {f16 d, m; u8 qs[16]} (x = d * nibble + m).
struct QuantTensor {
  GgmlType type = GgmlType::F32;
  Shape shape;  // row-major
  int64_t block_size = 1;
  size_t type_size = 4;   // bytes per block
  size_t row_bytes = 0;   // bytes per row of shape.back() elements
  std::span<const uint8_t> data;
  std::shared_ptr<const MappedFile> owner;
  // All of it dequantised to a fresh f32 tensor of `shape`.
  Tensor dequantize() const;
  int64_t rows() const;  // product of all dims but the last
  // Bytes of row i (0 <= i < rows(); ValueError otherwise).
  std::span<const uint8_t> row(int64_t i) const;
};

// The tokenizer stored in tokenizer.ggml.* keys, as plain data (absent keys: empty / nullopt).
struct GgufVocab {
  std::string model;               // tokenizer.ggml.model: "gpt2", "llama", ...
  std::string pre;                 // tokenizer.ggml.pre
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> token_type;
  std::vector<std::string> merges;  // "a b"
  std::optional<int64_t> bos_id, eos_id, unk_id, pad_id, sep_id, cls_id, mask_id;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
  std::string chat_template;  // tokenizer.chat_template
};

class GgufFile {
 public:
  static GgufFile open(const std::string& path);
  static GgufFile from_mapping(std::shared_ptr<const MappedFile> file);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_start() const { return data_start_; }  // absolute file offset of the data section

  // Metadata, in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Typed getters: a missing key or wrong type throws ValueError naming the file, the key, the expected and
  // the actual type. get_int accepts any integer type (range-checked into int64), get_float any F32/F64.
  const GgufValue& get(std::string_view key) const;
  int64_t get_int(std::string_view key) const;
  uint64_t get_uint(std::string_view key) const;
  double get_float(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  const GgufArray& get_array(std::string_view key) const;
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;
  std::vector<double> get_float_array(std::string_view key) const;
  // Same with a default for an absent key (a present key of the wrong type still throws).
  int64_t get_int(std::string_view key, int64_t def) const;
  double get_float(std::string_view key, double def) const;
  bool get_bool(std::string_view key, bool def) const;
  std::string get_string(std::string_view key, const std::string& def) const;

  // "general.architecture", e.g. "llama".
  std::string architecture() const { return get_string("general.architecture"); }
  GgufVocab vocab() const;

  // Tensors in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // ValueError naming the file and the tensor when absent.
  const GgufTensorInfo& tensor_info(std::string_view name) const;
  std::span<const uint8_t> raw(std::string_view name) const;
  // F32/F16/BF16/I32/I64 as a zero-copy view in row-major shape (a copy if misaligned); ValueError otherwise.
  Tensor tensor(std::string_view name) const;
  // Any dequantisable type to a fresh f32 tensor (F32 too, as a view when aligned).
  Tensor dequantize(std::string_view name) const;
  QuantTensor quantized(std::string_view name) const;
  const std::shared_ptr<const MappedFile>& mapping() const { return file_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_start_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// ---- Writer ----
// GGUF v3, little endian, laid out byte for byte as the gguf Python package 0.19.0 (GGUFWriter) writes it:
// header, metadata in insertion order, tensor infos (dims in ggml order, offsets relative to the data
// section, each tensor's size padded to the alignment), zero padding to the alignment, then each tensor's
// bytes followed by zero padding to the alignment (the last one too). The alignment is 32 unless
// set_alignment() changes it, which also writes general.alignment (as GGUFWriter.add_custom_alignment).
//
//   io::GgufWriter w;
//   w.set_string("general.architecture", "llama");
//   w.set_u32("llama.block_count", 2);
//   w.set_array("tokenizer.ggml.tokens", io::gguf_string_array(tokens));
//   w.add_tensor("blk.0.attn_q.weight", io::GgmlType::Q8_0, {64, 64}, std::move(blocks));
//   w.write("out.gguf");
//
// Validation (ValueError naming the key or tensor, the expected and the actual): empty or duplicate tensor
// names, names of 64 bytes or more (ggml's GGML_MAX_NAME), 1 to 4 dims each > 0, a row length that is not a
// multiple of the type's block size, a byte count that differs from the shape's, a value whose variant does
// not match its type or whose integer does not fit, array elements of another type than the array's.
// Plain tensors hold their bytes in memory; add_tensor_lazy takes a function producing them at write time,
// so a whole model need not be in memory at once (its size is checked when it is produced).
GgufValue gguf_u32(uint32_t v);
GgufValue gguf_i32(int32_t v);
GgufValue gguf_u64(uint64_t v);
GgufValue gguf_f32(float v);
GgufValue gguf_bool(bool v);
GgufValue gguf_string(std::string v);
GgufValue gguf_string_array(const std::vector<std::string>& v);
GgufValue gguf_i32_array(const std::vector<int32_t>& v);
GgufValue gguf_f32_array(const std::vector<float>& v);
// A value of `type` holding `x` (integers checked against the type's range); for generic code and tests.
GgufValue gguf_scalar(GgufValueType type, std::variant<uint64_t, int64_t, double, bool> x);

// Bytes of a tensor of `shape` (row-major; shape.back() is ggml's ne[0]) stored as `type`; ValueError when the
// row length is not a multiple of the block size or the type's size is unknown.
uint64_t ggml_tensor_bytes(GgmlType type, const Shape& shape);

class GgufWriter {
 public:
  using Producer = std::function<std::vector<uint8_t>()>;

  GgufWriter() = default;
  // A power of two; adds general.alignment (u32) like GGUFWriter.add_custom_alignment.
  void set_alignment(uint32_t alignment);
  uint64_t alignment() const { return alignment_; }

  // Sets a metadata value: a new key is appended, an existing one keeps its position and takes the value.
  void set(const std::string& key, GgufValue v);
  void set_u32(const std::string& key, uint32_t v) { set(key, gguf_u32(v)); }
  void set_i32(const std::string& key, int32_t v) { set(key, gguf_i32(v)); }
  void set_f32(const std::string& key, float v) { set(key, gguf_f32(v)); }
  void set_bool(const std::string& key, bool v) { set(key, gguf_bool(v)); }
  void set_string(const std::string& key, std::string v) { set(key, gguf_string(std::move(v))); }
  void set_array(const std::string& key, GgufValue array) { set(key, std::move(array)); }
  bool erase(const std::string& key);  // true when the key was there
  const GgufValue* find(std::string_view key) const;
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }

  // Tensors in insertion order; `shape` row-major ([rows, cols]: ne = {cols, rows}).
  void add_tensor(const std::string& name, GgmlType type, const Shape& shape, std::vector<uint8_t> bytes);
  void add_tensor_lazy(const std::string& name, GgmlType type, const Shape& shape, Producer produce);
  size_t tensor_count() const { return tensors_.size(); }

  // The whole file in memory (tests, small files).
  std::vector<uint8_t> serialize() const;
  // Writes `path` through a temporary file in the same folder renamed at the end, so a failure leaves no
  // partial file; IoError naming the path when it cannot be written. Returns the bytes written.
  uint64_t write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    GgmlType type;
    Shape shape;
    uint64_t nbytes;
    std::vector<uint8_t> bytes;
    Producer produce;
  };
  void check_new_tensor(const std::string& name, GgmlType type, const Shape& shape) const;
  std::vector<uint8_t> header() const;  // everything before the first tensor's bytes, padding included
  template <class Sink>
  void emit(Sink& sink) const;

  uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Entry> tensors_;
};

}  // namespace tl::io
