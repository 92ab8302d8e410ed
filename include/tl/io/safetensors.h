// safetensors (https://github.com/huggingface/safetensors): read, write, sharded checkpoints.
// Every file is treated as hostile: the header length is capped at 100 MB and must fit the file, the header
// must be a JSON object, each tensor's dtype must be a known safetensors dtype, shape products are
// overflow-checked, data_offsets must lie in the data section, equal shape x dtype size, and not overlap;
// duplicate names and a non-string __metadata__ are refused. Everything is checked against the file size
// before anything is allocated, so a 100 GB declared tensor in a 1 KB file fails at once. Errors are IoError
// "[safetensors] <path>: <field>: <problem>".
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tl/io/mmap.h"
#include "tl/tensor.h"

namespace tl::io {

// All safetensors dtypes, by their header names.
enum class StDType : uint8_t { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };
const char* st_dtype_name(StDType t);  // "F32", ...
size_t st_dtype_size(StDType t);       // bytes per element
// Throws ValueError naming the text on an unknown name.
StDType st_dtype_from_name(std::string_view name);
// The Tensor dtype with the same bytes (F32, F16, BF16, I32, I64, BOOL), or nullopt.
std::optional<DType> st_to_dtype(StDType t);
StDType st_from_dtype(DType t);

struct StTensorInfo {
  std::string name;
  StDType dtype = StDType::F32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section (which starts after the header)
  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

// How load() returns a tensor:
//  keep   - the stored dtype, which must be one Tensor supports (F32, F16, BF16, I32, I64, BOOL); a zero-copy
//           view into the mapping when the data is aligned for its dtype, else a copy. Other dtypes: ValueError.
//  to_f32 - f32 for every numeric dtype (F16/BF16/F8/F64 converted exactly or rounded to nearest, integers
//           converted); F32 itself is still a zero-copy view when aligned.
enum class Convert { keep, to_f32 };

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  // Parses an existing mapping (its path() names the file in errors).
  static SafetensorsFile from_mapping(std::shared_ptr<const MappedFile> file);

  const std::string& path() const { return file_->path(); }
  // Tensors in data-offset order.
  const std::vector<StTensorInfo>& tensors() const { return infos_; }
  std::vector<std::string> names() const;  // sorted
  const StTensorInfo* find(std::string_view name) const;
  // Throws ValueError naming the file and the tensor when absent.
  const StTensorInfo& info(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The tensor's bytes inside the mapping (little-endian, row-major).
  std::span<const uint8_t> raw(std::string_view name) const;
  Tensor load(std::string_view name, Convert conv = Convert::keep) const;
  const std::shared_ptr<const MappedFile>& mapping() const { return file_; }
  uint64_t data_start() const { return data_start_; }  // 8 + header length

 private:
  std::shared_ptr<const MappedFile> file_;
  std::vector<StTensorInfo> infos_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  uint64_t data_start_ = 0;
};

// A model's weights in one file or sharded through model.safetensors.index.json ({"weight_map": {tensor:
// shard file}}). Shards are opened once, at open(); every tensor named in the index must exist in its shard.
class SafetensorsCheckpoint {
 public:
  // `path`: a .safetensors file, an index .json, or a directory holding model.safetensors.index.json or
  // model.safetensors. A git-lfs pointer file in place of a shard gets an error saying so.
  static SafetensorsCheckpoint open(const std::string& path);

  std::vector<std::string> names() const;  // sorted
  bool contains(std::string_view name) const { return where_.find(std::string(name)) != where_.end(); }
  // Throws ValueError naming the checkpoint and the tensor when absent.
  const StTensorInfo& info(std::string_view name) const;
  Tensor load(std::string_view name, Convert conv = Convert::keep) const;
  // Every tensor, by name.
  std::map<std::string, Tensor> load_all(Convert conv = Convert::keep) const;
  const SafetensorsFile& file_of(std::string_view name) const;
  const std::vector<SafetensorsFile>& files() const { return files_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<SafetensorsFile> files_;
  std::unordered_map<std::string, size_t> where_;  // tensor name -> index in files_
};

// Writes tensors (f32, f16, bf16, i32, i64, bool; any layout) byte-for-byte as the `safetensors` Python
// package 0.6.2 does: entries ordered by dtype (widest first) then name, compact JSON header with
// "__metadata__" first, padded with spaces to a multiple of 8. Duplicate names: ValueError.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
std::string serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {});
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// True when the bytes start like a git-lfs pointer ("version https://git-lfs.github.com/spec/").
bool is_git_lfs_pointer(std::span<const uint8_t> bytes);

}  // namespace tl::io
