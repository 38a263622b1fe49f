// The message Postfix's pipe(8) hands over on standard input, kept in an
// unlinked temporary file: every copy is made from it, and its SHA-256 names
// it in the reinjection journal. Memory use does not depend on its size.
#pragma once

#include <cstdint>
#include <string>

namespace gpgseal::cli::postfix {

// A descriptor that is closed at scope exit.
class owned_fd {
 public:
  owned_fd() noexcept = default;
  explicit owned_fd(int fd) noexcept : fd_(fd) {}
  owned_fd(owned_fd&& other) noexcept : fd_(other.release()) {}
  owned_fd& operator=(owned_fd&& other) noexcept;
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  ~owned_fd();

  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept;

 private:
  int fd_ = -1;
};

// An unlinked mode-0600 file in `dir`. Throws std::runtime_error naming `dir`.
owned_fd anonymous_file(const std::string& dir);

// Seeks `fd` back to its start. Throws std::runtime_error.
void rewind(int fd);

struct spooled_message {
  owned_fd file;
  std::uint64_t size = 0;
  std::string sha256;  // lower-case hex
};

// Reads `in_fd` to its end into an anonymous file in `temp_dir`. Throws
// std::runtime_error with the cause.
spooled_message spool_message(int in_fd, const std::string& temp_dir);

// The lower-case hex SHA-256 of `text`.
std::string sha256_of(const std::string& text);

}  // namespace gpgseal::cli::postfix
