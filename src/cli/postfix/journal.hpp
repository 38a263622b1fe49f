// The reinjection journal: which recipients of one queued message already
// have their copy back in Postfix's queue. pipe(8) has one exit status for a
// whole delivery, so when the second of three copies cannot be reinjected,
// exiting 75 makes Postfix retry all recipients and exiting 0 loses the rest.
// With the journal, the run exits 75 and the retry (same queue ID, same
// bytes) skips the recipients recorded here: nobody gets a copy twice and
// nobody loses one.
//
// One file per recipient, `QUEUEID.<sha256 of the recipient>`, holding the
// SHA-256 of the message and of the sender; it counts only if both match, so a
// reused queue ID never suppresses a delivery. Written by rename after fsync.
// The files of a finished delivery are removed; those of deliveries that
// never finish (bounced after maximal_queue_lifetime) after 30 days.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpgseal::cli::postfix {

class reinjection_journal {
 public:
  // A journal that records nothing: every recipient still needs a copy.
  reinjection_journal() = default;
  // The journal of queue ID `queue_id` in `dir` for a message and sender with
  // these SHA-256 sums.
  reinjection_journal(std::string dir, std::string queue_id, std::string message_sha256,
                      std::string sender_sha256);

  [[nodiscard]] bool enabled() const noexcept { return !dir_.empty(); }
  [[nodiscard]] bool done(const std::string& recipient) const;
  // Records that these recipients' copy is queued. Throws std::runtime_error.
  void record(const std::vector<std::string>& recipients) const;
  // Forgets them once the whole delivery succeeded; never throws.
  void forget(const std::vector<std::string>& recipients) const noexcept;
  // Removes records older than 30 days; never throws.
  void prune() const noexcept;

 private:
  [[nodiscard]] std::string path_of(const std::string& recipient) const;

  std::string dir_;
  std::string queue_id_;
  std::string identity_;
};

// Why `dir` cannot hold the journal (missing, not a directory, owned by
// another uid, writable by group or others), or nullopt. Records planted by
// someone else would suppress deliveries, so it is checked like a keyring.
std::optional<std::string> journal_dir_problem(const std::string& dir);

// Why `id` is not a Postfix queue ID (letters and digits), or nullopt.
std::optional<std::string> queue_id_problem(const std::string& id);

}  // namespace gpgseal::cli::postfix
