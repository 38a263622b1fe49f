#include "cli/smtpd/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace gpgseal::smtpd {

namespace {
constexpr std::size_t buffer_size = 64 * 1024;
}

spool_file spool_file::create(const std::string& dir, std::string& why) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    // File systems without O_TMPFILE: create, then unlink at once.
    std::string name = dir + "/gpgseal-smtpd.XXXXXX";
    std::vector<char> path(name.begin(), name.end());
    path.push_back('\0');
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(path.data());
  }
  if (fd < 0) why = "cannot create a temporary file in " + dir + ": " + std::strerror(errno);
  return spool_file(fd);
}

spool_file& spool_file::operator=(spool_file&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

spool_file::~spool_file() {
  if (fd_ >= 0) ::close(fd_);
}

spool_writer::spool_writer(const std::string& dir) {
  file_ = spool_file::create(dir, why_);
  failed_ = file_.fd() < 0;
  buffer_.reserve(buffer_size);
}

void spool_writer::add_line(std::string_view line) {
  bytes_ += line.size() + 1;
  if (failed_) return;
  buffer_.append(line).push_back('\n');
  if (buffer_.size() >= buffer_size) flush();
}

void spool_writer::flush() {
  std::size_t done = 0;
  while (!failed_ && done < buffer_.size()) {
    ssize_t n = ::write(file_.fd(), buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = true;
      why_ = std::string("cannot write the spool: ") + std::strerror(errno);
    } else {
      done += static_cast<std::size_t>(n);
    }
  }
  buffer_.clear();
}

spool_file spool_writer::finish() {
  flush();
  if (!failed_ && ::lseek(file_.fd(), 0, SEEK_SET) != 0) {
    failed_ = true;
    why_ = std::string("cannot rewind the spool: ") + std::strerror(errno);
  }
  if (failed_) return spool_file{};
  return std::move(file_);
}

}  // namespace gpgseal::smtpd
