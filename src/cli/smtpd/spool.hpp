// A message spooled to disk: an unlinked mode-0600 temporary file that
// disappears with its last descriptor, and a buffered writer for it, so that
// memory does not grow with the message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gpgseal::smtpd {

// An owned file descriptor of an unlinked temporary file.
class spool_file {
 public:
  spool_file() = default;
  // Creates one in `dir`; fd() is -1 on failure and `why` says why.
  static spool_file create(const std::string& dir, std::string& why);
  spool_file(spool_file&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  spool_file& operator=(spool_file&& other) noexcept;
  spool_file(const spool_file&) = delete;
  spool_file& operator=(const spool_file&) = delete;
  ~spool_file();

  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  explicit spool_file(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Lines into a spool_file, each ended by '\n', through a 64 KiB buffer. After
// a write error it keeps counting but writes nothing more.
class spool_writer {
 public:
  explicit spool_writer(const std::string& dir);
  void add_line(std::string_view line);
  // Flushes and rewinds; returns the file, or an invalid one on failure.
  spool_file finish();
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] const std::string& why() const noexcept { return why_; }
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  void flush();
  spool_file file_;
  std::string buffer_;
  std::uint64_t bytes_ = 0;
  bool failed_ = false;
  std::string why_;
};

}  // namespace gpgseal::smtpd
