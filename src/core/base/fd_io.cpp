#include "core/base/fd_io.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace gpgseal {

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0) ::close(fd_);
}

int unique_fd::release() noexcept {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

namespace {

unique_fd make_named_then_unlink(const std::string& dir) {
  std::string path = dir + "/gpgseal.XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  // mkstemp creates the file 0600 whatever the umask.
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) throw system_error("cannot create a temporary file in " + dir, errno);
  unique_fd owned(fd);
  if (::unlink(name.data()) != 0) {
    throw system_error("cannot unlink temporary file " + std::string(name.data()), errno);
  }
  return owned;
}

}  // namespace

unique_fd make_unlinked_temp_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd >= 0) return unique_fd(fd);
  // Filesystems without O_TMPFILE answer EOPNOTSUPP or EISDIR; anything else is real.
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    throw system_error("cannot create a temporary file in " + dir, errno);
  }
  return make_named_then_unlink(dir);
}

void write_all(int fd, const void* data, std::size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw system_error("cannot write " + what, errno);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::size_t pread_full(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
  char* p = static_cast<char*>(buffer);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, p + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw system_error("cannot read the spooled message", errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

namespace {

// sendfile needs no user-space copy; it is refused by some output kinds, and
// then the caller falls back to read/write.
bool try_sendfile(int from, std::uint64_t& offset, std::uint64_t& length, int to,
                  const std::string& what) {
  while (length > 0) {
    auto off = static_cast<off_t>(offset);
    ssize_t n = ::sendfile(to, from, &off, length > (1u << 30) ? (1u << 30) : length);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL || errno == ENOSYS) return false;
      throw system_error("cannot write " + what, errno);
    }
    if (n == 0) throw error(error_kind::io, "cannot write " + what + ": source file shrank");
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  return true;
}

}  // namespace

void copy_range(int from, std::uint64_t offset, std::uint64_t length, int to,
                const std::string& what) {
  if (try_sendfile(from, offset, length, to, what)) return;
  std::array<char, 65536> buffer{};
  while (length > 0) {
    std::size_t want = length < buffer.size() ? static_cast<std::size_t>(length) : buffer.size();
    std::size_t got = pread_full(from, buffer.data(), want, offset);
    if (got == 0) throw error(error_kind::io, "cannot write " + what + ": source file shrank");
    write_all(to, buffer.data(), got, what);
    offset += got;
    length -= got;
  }
}

fd_writer::fd_writer(int fd, std::string what)
    : fd_(fd), what_(std::move(what)), buffer_(1 << 16) {}

void fd_writer::write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

void fd_writer::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  if (size >= buffer_.size()) {
    flush();
    write_all(fd_, p, size, what_);
    written_ += size;
    return;
  }
  if (used_ + size > buffer_.size()) flush();
  std::memcpy(buffer_.data() + used_, p, size);
  used_ += size;
  written_ += size;
}

void fd_writer::flush() {
  if (used_ == 0) return;
  write_all(fd_, buffer_.data(), used_, what_);
  used_ = 0;
}

void copy_range_to(fd_writer& out, int fd, std::uint64_t offset, std::uint64_t length) {
  io_buffer buffer(static_cast<std::size_t>(std::min<std::uint64_t>(length, 1 << 16)));
  std::uint64_t done = 0;
  while (done < length) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length - done, buffer.size()));
    std::size_t got = pread_full(fd, buffer.data(), want, offset + done);
    if (got == 0) throw error(error_kind::io, "the spooled message ended early");
    out.write(buffer.data(), got);
    done += got;
  }
}

}  // namespace gpgseal
