// Public face: encrypting the messages stored in a Maildir (and its Maildir++
// subfolders) in place, with the same filter, key rules and detection as
// gpgseal at delivery. Each message is replaced atomically and durably under
// its own base name and flags (maildir/replace.hpp), so Dovecot sees one
// expunge and one new UID per changed message, with flags, keywords and
// UIDVALIDITY intact. Nothing but message files in cur/ and new/ (and our own
// files in tmp/) is ever touched.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>

#include "core/settings.hpp"

namespace gpgseal {

enum class message_result {
  encrypted,
  already_encrypted,
  no_key,
  changed,           // renamed or expunged by someone else and not retried; nothing lost
  failed,            // the original is untouched; `detail` says why
  not_inline,        // inline-or-plain mode, not a single text/plain part: left as is
  outside_dates,     // its mtime is outside the chosen dates
  too_large,         // larger than the size limit: left as it is
  server_encrypted,  // a Dovecot mail_crypt file: not readable here, left as it is
  would_encrypt,     // dry run
  leftover_removed,  // plaintext twin of an encrypted copy left by an interrupted run
  would_remove_leftover,
  interrupted,  // the run was asked to stop first; untouched
};

const char* describe(message_result result) noexcept;

struct message_report {
  std::string path;
  message_result result = message_result::failed;
  std::string detail;    // the reason, for failed / changed / leftovers; never content
  bool retried = false;  // renamed while being processed and handled under its new name
};

struct maildir_summary {
  std::size_t folders = 0;
  std::size_t folders_failed = 0;  // could not be opened, listed or locked
  std::size_t seen = 0;
  std::size_t encrypted = 0;
  std::size_t already_encrypted = 0;
  std::size_t no_key = 0;
  std::size_t changed = 0;
  std::size_t retried = 0;
  std::size_t failed = 0;
  std::size_t not_inline = 0;
  std::size_t outside_dates = 0;
  std::size_t too_large = 0;
  std::size_t server_encrypted = 0;
  std::size_t would_encrypt = 0;
  std::size_t leftovers_removed = 0;
  std::size_t interrupted = 0;
  std::size_t stale_temp_removed = 0;
  bool stopped = false;         // the caller's stop flag ended the run early
  bool keys_available = false;  // the addresses had usable keys when the run started
  std::string no_key_detail;    // why not, when !keys_available

  void count(const message_report& report) noexcept;
  // Nothing failed and the run was not cut short.
  [[nodiscard]] bool complete() const noexcept {
    return failed == 0 && folders_failed == 0 && !stopped;
  }
};

// The failure policy of a batch is fixed: a message without key, or one that
// cannot be encrypted, stays as it is (nothing is delivered that could be
// passed on or refused). Only the limits are the caller's.
struct maildir_limits {
  std::chrono::milliseconds timeout{0};  // for each message; 0: none
  std::uint64_t max_size = 0;            // larger messages are left as they are; 0: no limit
};

// For tests: the steps of a replacement, between which a hook may act.
enum class replace_step {
  temp_synced,  // the new version is complete and durable in tmp/
  renamed,      // both versions are in place; the original is not yet removed
};
using replace_hook = std::function<void(replace_step, const std::string& original_path,
                                        const std::string& new_path)>;

struct maildir_run {
  bool recurse = true;
  bool dry_run = false;                   // report what would change, write nothing
  unsigned jobs = 1;                      // messages encrypted in parallel
  std::optional<std::time_t> newer_than;  // only messages with a later mtime
  std::optional<std::time_t> older_than;  // only messages with an earlier mtime
  // Checked between messages and before each replacement; typically set by
  // a signal handler. Messages in flight are finished or left untouched.
  const std::atomic<bool>* stop = nullptr;
  // Called once before the work starts, with the number of message files found.
  std::function<void(std::size_t estimated_total)> on_start;
  // Called once per message file, never concurrently.
  std::function<void(const message_report&)> on_report;
  replace_hook hook;  // for tests: runs between the steps of each replacement
};

// Does the whole run and returns the tally. Per-message and per-folder
// problems are reported and counted, not thrown. Throws error(usage) if `root`
// is not a Maildir, and the filter's error kind if the keyring cannot be used
// at all (checked once, before anything is touched).
maildir_summary encrypt_maildir(const std::string& root, const seal_settings& settings,
                                const maildir_limits& limits, const maildir_run& run);

}  // namespace gpgseal
