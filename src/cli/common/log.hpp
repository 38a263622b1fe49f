// Reports what happened to a message: to syslog (facility mail, ident
// gpgseal) so that admins see it, and problems also to stderr, which Dovecot
// puts in its log (LMTP) or passes on (LDA). Never any message content.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cli/common/syslog_client.hpp"
#include "core/filter.hpp"

namespace gpgseal::cli {

// Where the one line per message goes; errors always go to stderr and syslog.
// `dovecot`: syslog, and stderr too; when the parent process is Dovecot's
// LMTP server, whose stderr is Dovecot's log, the line carries Dovecot's log
// level (Info for an encrypted or passed message, Error for an error) instead
// of being logged as an Error.
enum class log_destination { syslog, syslog_and_stderr, dovecot, none };

class message_log {
 public:
  // `facility` is a syslog LOG_* facility value. `stderr_prefix` starts each
  // stderr line; empty where the reader of stderr names the program itself.
  message_log(log_destination destination, int facility, std::string stderr_prefix = "gpgseal: ");
  message_log(const message_log&) = delete;
  message_log& operator=(const message_log&) = delete;

  void outcome(const filter_outcome& outcome, const std::vector<std::string>& addresses);
  // An error that prevented filtering altogether.
  void failure(const std::string& text);

 private:
  log_destination destination_;
  std::string stderr_prefix_;
  syslog_client syslog_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace gpgseal::cli
