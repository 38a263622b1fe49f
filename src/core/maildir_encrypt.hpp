// Encrypts the messages stored in a Maildir (and its Maildir++ subfolders) in
// place, with the same filter, key rules and detection as gpgseal at delivery.
// Each message is replaced atomically and durably under its own base name and
// flags (maildir_replace.hpp), so Dovecot sees one expunge and one new UID per
// changed message, with flags, keywords and UIDVALIDITY intact. Nothing but
// message files in cur/ and new/ (and our own files in tmp/) is ever touched.
#pragma once

#include <atomic>
#include <ctime>
#include <functional>
#include <optional>
#include <string>

#include "core/filter.hpp"
#include "core/maildir_replace.hpp"
#include "core/maildir_report.hpp"

namespace gpgseal {

struct maildir_options {
  // Addresses, keyring and temp directory as for gpgseal; the policies are
  // set by the run (a missing key leaves a message alone, an error fails it).
  filter_options filter;
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
maildir_summary encrypt_maildir(const std::string& root, const maildir_options& options);

}  // namespace gpgseal
