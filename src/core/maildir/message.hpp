// One message file of a Maildir folder, taken from plaintext to encrypted:
// open it, select it by mtime, detect an existing encryption (in-process, the
// filter's own detection), encrypt it through run_filter into tmp/ and replace
// it. A message Dovecot renames meanwhile is followed to its new name and
// tried again; one that disappears is reported as changed.
#pragma once

#include <atomic>
#include <ctime>
#include <optional>

#include "core/filter.hpp"
#include "core/maildir.hpp"
#include "core/maildir/folder.hpp"
#include "core/maildir/replace.hpp"

namespace gpgseal::detail {

struct message_context {
  seal_settings settings;
  failure_policy policy;  // on_missing_key = pass, on_error = fail
  bool keys_available = false;
  bool dry_run = false;
  std::optional<std::time_t> newer_than;
  std::optional<std::time_t> older_than;
  const std::atomic<bool>* stop = nullptr;
  replace_hook hook;
  temp_namer* namer = nullptr;

  [[nodiscard]] bool stop_requested() const noexcept { return stop && stop->load(); }
};

// Never throws: every problem becomes a `failed` report naming the cause.
message_report process_message(const maildir_folder& folder, const message_file& file,
                               const message_context& context);

// Whether the message in `fd` is already encrypted, by the filter's own rules.
// Requires initialise_libraries(). Throws error(io).
bool is_already_encrypted(int fd, std::uint64_t size);

}  // namespace gpgseal::detail
