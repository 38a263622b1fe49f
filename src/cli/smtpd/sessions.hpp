// The filter's state: one entry per SMTP session smtpd told it about, keyed by
// the session id, holding the recipients of the current transaction and,
// during DATA, the message spooled to an unlinked temporary file. Fed by the
// main loop, one protocol event at a time, from one thread. A reset, a
// rollback or a disconnect frees what the session held, whatever state it was
// in; events for sessions it never saw are taken as they come (a filter
// started late, a lost report), never as errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/smtpd/spool.hpp"

namespace gpgseal::smtpd {

// A message whose end (the "." line) has arrived: everything needed to seal
// it and to answer smtpd.
struct finished_message {
  std::string session;
  std::string token;
  std::vector<std::string> recipients;  // those smtpd accepted, in order, no duplicates
  spool_file spool;                     // the message, unstuffed, LF line ends, at offset 0
  bool spool_failed = false;            // writing the spool failed: the message is lost here
  std::uint64_t bytes = 0;
};

class session_table {
 public:
  explicit session_table(std::string temp_dir) : temp_dir_(std::move(temp_dir)) {}

  void connect(std::string_view session);
  void disconnect(std::string_view session);
  // tx-begin: a new transaction, no recipients yet.
  void begin(std::string_view session);
  // tx-rcpt with result "ok".
  void add_recipient(std::string_view session, std::string_view address);
  // tx-reset, tx-rollback: the transaction is over; a message being spooled
  // is dropped.
  void reset(std::string_view session);
  // One data-line request. Returns the message once its "." line arrived;
  // the session then waits for its next transaction.
  std::optional<finished_message> data_line(std::string_view session, std::string_view token,
                                            std::string_view line);

  [[nodiscard]] std::size_t size() const noexcept { return sessions_.size(); }
  [[nodiscard]] bool knows(std::string_view session) const;
  // Whether `session` has a message being spooled.
  [[nodiscard]] bool spooling(std::string_view session) const;
  // Sessions with a message being spooled.
  [[nodiscard]] std::size_t in_data() const noexcept;

 private:
  struct entry {
    std::vector<std::string> recipients;
    std::optional<spool_writer> spool;
    std::string token;
  };
  entry& at(std::string_view session);

  std::string temp_dir_;
  std::map<std::string, entry, std::less<>> sessions_;
};

// The line as the message has it: a leading dot of a dot-stuffed line
// removed (RFC 5321 §4.5.2). The "." end line itself is not a data line.
std::string_view unstuff(std::string_view line);
// The line as smtpd wants it back: a leading dot doubled. Appends to `out`.
void append_stuffed(std::string& out, std::string_view line);

}  // namespace gpgseal::smtpd
