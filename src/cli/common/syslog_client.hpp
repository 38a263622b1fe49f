// syslog(3) without waiting. glibc's syslog() blocks in send() while the
// daemon's socket queue is full, as it is when journald or rsyslog stalls; a
// filter stuck there past Dovecot's timeout is killed, and the message with
// it. This client sends each line once, never blocking, and drops a line the
// daemon cannot take at once; gpgseal's errors also go to stderr, which
// Dovecot logs itself.
#pragma once

#include <string>
#include <string_view>

namespace gpgseal::cli {

class syslog_client {
 public:
  // `facility` is a LOG_* facility value; lines are "ident[pid]: text".
  syslog_client(std::string ident, int facility, std::string socket_path = "/dev/log");
  ~syslog_client();
  syslog_client(const syslog_client&) = delete;
  syslog_client& operator=(const syslog_client&) = delete;

  // `severity` is a LOG_* level. Never blocks and never throws.
  void send(int severity, std::string_view text) noexcept;

 private:
  bool connect_socket() noexcept;
  [[nodiscard]] std::string format(int severity, std::string_view text) const;

  std::string ident_;
  int facility_;
  std::string socket_path_;
  int fd_ = -1;
  bool stream_ = false;  // a daemon listening on a stream socket wants a NUL after each line
};

}  // namespace gpgseal::cli
