// Public face: the filter. One message in, one message out, either encrypted or
// unchanged, and an outcome that says which and why. All policy (missing key,
// already encrypted, errors) is decided here, from explicit settings and
// policy; the caller only maps the outcome to an exit status and a log line.
// The detail texts name things and causes, never a front-end's option.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/policy.hpp"
#include "core/settings.hpp"

namespace gpgseal {

enum class filter_action { encrypted, passed_through, failed };

enum class pass_reason {
  none,
  already_encrypted,
  no_key,
  no_keyring,  // the keyring directory does not exist (policy: missing_keyring)
  not_inline,  // inline-or-plain, and the message is not one text/plain part
  empty_input,
  too_large,
  timed_out,
  stuck,  // still running well past the timeout, even with gpg stopped
  error,
};

struct filter_outcome {
  filter_action action = filter_action::failed;
  pass_reason reason = pass_reason::none;
  std::string detail;                     // human-readable why, never message content
  std::optional<error_kind> error;        // set when reason == error
  std::vector<std::string> fingerprints;  // the keys used
  bool smime = false;                     // sealed as S/MIME, to the certificates in `fingerprints`
  std::string stopped;                    // timed_out, stuck: the engine stopped, "gpg" or "gpgsm"
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

// Called from another thread when a run is stuck well past its timeout, after
// the original has been written (policy pass). It must end the process; if
// unset, the run keeps waiting.
using abandon_handler = std::function<void(const filter_outcome&)>;

// Reads all of `in_fd`, then writes the result to `out_fd` only once it is
// complete: the encrypted message, or the original bytes, or (policy `fail`)
// nothing. Neither descriptor is closed. Failures inside become outcomes; only
// a failure to write `out_fd` itself, after which nothing sensible can be
// written, throws error(io). With a timeout, the children it started (gpg)
// are stopped when it runs out, and the run ends by the `on_error` policy.
filter_outcome run_filter(int in_fd, int out_fd, const seal_settings& settings,
                          const failure_policy& policy, const abandon_handler& on_abandoned = {});

// For a process that seals more than one message (a daemon, a batch, one
// copy per recipient): call once at start, before starting any thread, so
// that every message can be sealed with S/MIME. Otherwise the process's first
// message decides for all of them: S/MIME only if that message's keyring held
// certificates (GPGME finds gpgsm through gpgconf, or never), with PATH set
// to the system directories (setenv, which races with other threads) while
// it is sealed. Costs one gpgconf run per process. Idempotent; throws
// error(unavailable) if GPGME is unusable.
void enable_smime_for_every_message();

// Reads `in_fd` to its end and discards it: a filter that exits before reading
// all its input makes Dovecot's LMTP delivery fail. Throws error(io).
void drain_input(int in_fd);

}  // namespace gpgseal
