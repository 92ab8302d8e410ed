// Memory-mapped files, mapped private copy-on-write so the file itself is never written. Loaders share one
// mapping through a shared_ptr, and tensors that view the mapping keep it alive (Tensor::wrap's owner), so a
// model's weights stay mapped exactly as long as they are used.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace tl::io {

class MappedFile {
 public:
  // Maps the whole file read-only. Throws IoError naming the path and the OS reason (missing file, a
  // directory, permission). An empty file maps to an empty span.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  // An in-memory stand-in with the same interface (parsing a buffer, tests); `name` stands for the path.
  static std::shared_ptr<const MappedFile> from_buffer(std::string bytes, const std::string& name);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }
  // Drops the resident pages wholly inside `range` (page edges rounded inwards) when the range lies in this
  // mapping; anything else (a buffer stand-in, a range elsewhere) is left alone. The pages are re-read from the
  // file when touched again, so this is only for ranges nobody wrote to: loaders call it on bytes they have
  // converted into copies, so the file and its conversion are not resident together.
  void drop_resident(std::span<const uint8_t> range) const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string buffer_;  // from_buffer's bytes (empty for a real mapping)
  bool mapped_ = false;
};

// Reads a whole (small) file into a string; IoError naming the path on failure.
std::string read_text_file(const std::string& path);

}  // namespace tl::io
