// What gpgseal-maildir did to each message file, and the tally over a run.
// The core reports; the CLI decides what to print and the exit status.
#pragma once

#include <cstddef>
#include <string>

namespace gpgseal {

enum class message_result {
  encrypted,
  already_encrypted,
  no_key,
  changed,           // renamed or expunged by someone else and not retried; nothing lost
  failed,            // the original is untouched; `detail` says why
  not_inline,        // inline-or-plain mode, not a single text/plain part: left as is
  outside_dates,     // its mtime is outside --newer-than/--older-than
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

}  // namespace gpgseal
