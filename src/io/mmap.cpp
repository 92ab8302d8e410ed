// Read-only mmap with RAII; errors name the path and the OS reason.
#include "tl/io/mmap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tl/error.h"

namespace tl::io {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) TL_THROW(IoError, "cannot open '", path, "': ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    TL_THROW(IoError, "cannot stat '", path, "': ", std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    TL_THROW(IoError, "cannot map '", path, "': not a regular file");
  }
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = size_t(st.st_size);
  if (m->size_ > 0) {
    // Private copy-on-write: the file is never written, and a tensor view that someone writes to gets private
    // pages instead of a segfault.
    void* p = ::mmap(nullptr, m->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      TL_THROW(IoError, "cannot mmap '", path, "' (", m->size_, " bytes): ", std::strerror(e));
    }
    m->data_ = static_cast<const uint8_t*>(p);
    m->mapped_ = true;
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return m;
}

std::shared_ptr<const MappedFile> MappedFile::from_buffer(std::string bytes, const std::string& name) {
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = name;
  m->buffer_ = std::move(bytes);
  m->data_ = reinterpret_cast<const uint8_t*>(m->buffer_.data());
  m->size_ = m->buffer_.size();
  return m;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::drop_resident(std::span<const uint8_t> range) const {
  if (!mapped_ || range.empty() || range.data() < data_ || range.data() + range.size() > data_ + size_) return;
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t lo = (uintptr_t(range.data()) + page - 1) / page * page;
  const uintptr_t hi = (uintptr_t(range.data()) + range.size()) / page * page;
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

std::string read_text_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) TL_THROW(IoError, "cannot read '", path, "': is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) TL_THROW(IoError, "cannot open '", path, "': ", std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) TL_THROW(IoError, "cannot read '", path, "'");
  return ss.str();
}

}  // namespace tl::io
