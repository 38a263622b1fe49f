#include "cli/common/syslog_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>

namespace gpgseal::cli {

syslog_client::syslog_client(std::string ident, int facility, std::string socket_path)
    : ident_(std::move(ident)), facility_(facility), socket_path_(std::move(socket_path)) {}

syslog_client::~syslog_client() {
  if (fd_ >= 0) ::close(fd_);
}

bool syslog_client::connect_socket() noexcept {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof address.sun_path) return false;
  socket_path_.copy(address.sun_path, socket_path_.size());
  // Datagrams first, as syslog(3) does; a daemon on a stream socket refuses
  // them with EPROTOTYPE.
  for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
    int fd = ::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
      fd_ = fd;
      stream_ = type == SOCK_STREAM;
      return true;
    }
    int err = errno;
    ::close(fd);
    if (err != EPROTOTYPE) return false;
  }
  return false;
}

// "<PRI>Nov 21 09:12:44 gpgseal[4711]: text", as syslog(3) writes it.
std::string syslog_client::format(int severity, std::string_view text) const {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  std::array<char, 32> stamp{};
  if (::localtime_r(&now, &local) == nullptr ||
      std::strftime(stamp.data(), stamp.size(), "%b %e %T", &local) == 0) {
    stamp[0] = '\0';
  }
  std::string line = "<" + std::to_string(facility_ | LOG_PRI(severity)) + ">" + stamp.data() +
                     " " + ident_ + "[" + std::to_string(::getpid()) + "]: ";
  line.append(text);
  if (stream_) line.push_back('\0');
  return line;
}

void syslog_client::send(int severity, std::string_view text) noexcept {
  try {
    // Connect again once if the daemon went away since (it restarted).
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !connect_socket()) return;
      std::string line = format(severity, text);
      if (::send(fd_, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;  // daemon busy: drop
      ::close(fd_);
      fd_ = -1;
    }
  } catch (...) {
    // Out of memory for one log line: nothing better to do than go on.
  }
}

}  // namespace gpgseal::cli
