#include "cli/common/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <utility>

namespace gpgseal::cli {

namespace {

std::string joined_keys(const std::vector<std::string>& fingerprints) {
  std::string text;
  for (const auto& f : fingerprints) text += (text.empty() ? "0x" : ", 0x") + f;
  return text;
}

std::string verdict(const filter_outcome& outcome) {
  switch (outcome.action) {
    case filter_action::encrypted:
      return outcome.smime
                 ? "encrypted with S/MIME to certificate " + joined_keys(outcome.fingerprints)
                 : "encrypted to " + joined_keys(outcome.fingerprints);
    case filter_action::passed_through:
      return outcome.reason == pass_reason::already_encrypted
                 ? "passed through: " + outcome.detail
                 : "passed through UNENCRYPTED: " + outcome.detail;
    case filter_action::failed:
      return "failed, nothing written: " + outcome.detail;
  }
  return outcome.detail;
}

// Errors reach stderr, which Dovecot logs at Error level; a missing key is
// the configured policy at work, so it goes to syslog only.
bool is_error(const filter_outcome& outcome) {
  return outcome.error.has_value() || outcome.action == filter_action::failed;
}

// Dovecot's LMTP server hands a filter its own stderr, which is a pipe to
// Dovecot's log process; dovecot-lda hands on the MTA's stderr.
bool parent_is_dovecot_lmtp() {
  std::ifstream comm("/proc/" + std::to_string(::getppid()) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name == "lmtp";
}

// Dovecot's internal log protocol (lib/failures.c, i_failure_parse_line):
// "\001", the log type + 1, the pid of the process whose prefix the line
// gets, a space. Types: 1 info, 3 error.
std::string dovecot_line(const std::string& text, bool error) {
  std::string line = "\001";
  line += error ? '\004' : '\002';
  return line + std::to_string(::getppid()) + " gpgseal: " + text;
}

}  // namespace

message_log::message_log(log_destination destination, int facility, std::string stderr_prefix)
    : destination_(destination),
      stderr_prefix_(std::move(stderr_prefix)),
      syslog_("gpgseal", facility),
      start_(std::chrono::steady_clock::now()) {}

void message_log::outcome(const filter_outcome& outcome,
                          const std::vector<std::string>& addresses) {
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start_)
                     .count();
  std::string text = "message for " + bracketed_addresses(addresses) + " " + verdict(outcome) +
                     "; " + std::to_string(outcome.bytes_in) + " bytes in, " +
                     std::to_string(outcome.bytes_out) + " bytes out, " + std::to_string(elapsed) +
                     " ms";
  bool unencrypted = outcome.action != filter_action::encrypted &&
                     outcome.reason != pass_reason::already_encrypted;
  int priority = is_error(outcome) ? LOG_ERR : unencrypted ? LOG_NOTICE : LOG_INFO;
  bool error = is_error(outcome);
  if (error || destination_ != log_destination::none) syslog_.send(priority, text);
  bool to_stderr = error || destination_ == log_destination::syslog_and_stderr ||
                   destination_ == log_destination::dovecot;
  if (!to_stderr) return;
  if (destination_ == log_destination::dovecot && parent_is_dovecot_lmtp()) {
    std::cerr << dovecot_line(text, error) << std::endl;
  } else {
    std::cerr << stderr_prefix_ << text << std::endl;
  }
}

void message_log::failure(const std::string& text) {
  syslog_.send(LOG_ERR, text);
  std::cerr << stderr_prefix_ << text << std::endl;
}

}  // namespace gpgseal::cli
