#include "cli/postfix/spooled_message.hpp"

#include <fcntl.h>
#include <glib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace gpgseal::cli::postfix {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

struct checksum_free {
  void operator()(GChecksum* sum) const noexcept { g_checksum_free(sum); }
};
using checksum_ptr = std::unique_ptr<GChecksum, checksum_free>;

void write_all(int fd, const char* data, std::size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write " + what);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

owned_fd& owned_fd::operator=(owned_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

owned_fd::~owned_fd() {
  if (fd_ >= 0) ::close(fd_);
}

int owned_fd::release() noexcept {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

owned_fd anonymous_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create a temporary file in " + dir);
  return owned_fd(fd);
}

void rewind(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) fail("cannot seek a temporary file");
}

spooled_message spool_message(int in_fd, const std::string& temp_dir) {
  spooled_message message;
  message.file = anonymous_file(temp_dir);
  checksum_ptr sum(g_checksum_new(G_CHECKSUM_SHA256));
  std::vector<char> buffer(1 << 16);
  for (;;) {
    ssize_t n = ::read(in_fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read the message from standard input");
    if (n == 0) break;
    write_all(message.file.get(), buffer.data(), static_cast<std::size_t>(n),
              "the message to a temporary file in " + temp_dir);
    g_checksum_update(sum.get(), reinterpret_cast<const guchar*>(buffer.data()), n);
    message.size += static_cast<std::uint64_t>(n);
  }
  message.sha256 = g_checksum_get_string(sum.get());
  rewind(message.file.get());
  return message;
}

std::string sha256_of(const std::string& text) {
  checksum_ptr sum(g_checksum_new(G_CHECKSUM_SHA256));
  g_checksum_update(sum.get(), reinterpret_cast<const guchar*>(text.data()),
                    static_cast<gssize>(text.size()));
  return g_checksum_get_string(sum.get());
}

}  // namespace gpgseal::cli::postfix
