// File descriptors owned by RAII, unlinked temp files, and the read/write
// loops every other unit uses. Every write is checked; short writes and EINTR
// are retried so that callers see either all bytes written or an error.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gpgseal {

class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();

  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept;
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Creates a mode 0600 file in `dir` that has no name (O_TMPFILE, or created and
// unlinked at once), so it cannot outlive the process. Throws error(io).
unique_fd make_unlinked_temp_file(const std::string& dir);

// Writes all of `data` to `fd`. Throws error(io) naming `what`.
void write_all(int fd, const void* data, std::size_t size, const std::string& what);

// Reads up to `size` bytes at `offset`; returns fewer only at end of file.
std::size_t pread_full(int fd, void* buffer, std::size_t size, std::uint64_t offset);

// Copies `length` bytes of `from` starting at `offset` to the current position of
// `to`. Throws error(io) naming `what` on a read or write failure.
void copy_range(int from, std::uint64_t offset, std::uint64_t length, int to,
                const std::string& what);

// A fixed-size byte buffer left uninitialised: its users read into it before
// they read from it, and zeroing the 64 KiB buffers of one run was a twentieth
// of a small message's own instructions.
class io_buffer {
 public:
  explicit io_buffer(std::size_t size) : bytes_(new char[size]), size_(size) {}
  [[nodiscard]] char* data() noexcept { return bytes_.get(); }
  [[nodiscard]] const char* data() const noexcept { return bytes_.get(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::unique_ptr<char[]> bytes_;
  std::size_t size_;
};

// Buffered writer over a descriptor it does not own. flush() must be called:
// the destructor does not write, because a write error there could not be reported.
class fd_writer {
 public:
  fd_writer(int fd, std::string what);
  void write(std::string_view bytes);
  void write(const void* data, std::size_t size);
  void flush();
  [[nodiscard]] std::uint64_t bytes_written() const noexcept { return written_; }

 private:
  int fd_;
  std::string what_;
  io_buffer buffer_;
  std::size_t used_ = 0;
  std::uint64_t written_ = 0;
};

// Appends `length` bytes of `fd` from `offset` to `out` through a bounded
// buffer. Throws error(io), also if the file is shorter than that.
void copy_range_to(fd_writer& out, int fd, std::uint64_t offset, std::uint64_t length);

}  // namespace gpgseal
