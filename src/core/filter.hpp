// The filter: one message in, one message out, either encrypted or unchanged,
// and an outcome that says which and why. All policy (missing key, already
// encrypted, errors) is decided here, from explicit options; the caller only
// maps the outcome to an exit status and a log line.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gpgseal {

enum class on_failure {
  pass,  // write the original unchanged (gpgit's behaviour)
  fail,  // write nothing; the caller signals a temporary failure
};

enum class encrypt_mode {
  pgp_mime,         // always RFC 3156 PGP/MIME
  prefer_inline,    // inline PGP for a single text/plain part, else PGP/MIME
  inline_or_plain,  // inline PGP for a single text/plain part, else unchanged
};

struct filter_outcome;

struct filter_options {
  std::vector<std::string> addresses;   // plain mailboxes, checked by the caller
  std::string gnupg_home;               // the keyring directory, or a template if flagged
  bool gnupg_home_is_template = false;  // expand %u %n %d for the first address
  // The directory gpg uses when given none, from the environment it inherits
  // ($GNUPGHOME, else $HOME/.gnupg), or "" if unknown. Only saves time.
  std::string engine_default_home;
  bool key_cache = true;          // remember key choices in the keyring (key_cache.hpp)
  std::string temp_dir = "/tmp";  // where the input is spooled
  on_failure on_missing_key = on_failure::pass;
  on_failure on_error = on_failure::pass;
  std::chrono::milliseconds timeout{0};  // for the whole run; 0: none
  std::uint64_t max_size = 0;            // larger messages are errors; 0: no limit
  encrypt_mode mode = encrypt_mode::pgp_mime;
  bool inline_flatten = false;  // gpgit's lossy reduction to one text/plain part
  // Called from another thread when the run is stuck well past its timeout,
  // after the original has been written (policy pass). It must end the
  // process; if unset, the run keeps waiting.
  std::function<void(const filter_outcome&)> on_abandoned;
};

enum class filter_action { encrypted, passed_through, failed };

enum class pass_reason {
  none,
  already_encrypted,
  no_key,
  not_inline,  // inline-or-plain, and the message is not one text/plain part
  empty_input,
  too_large,
  timed_out,
  error,
};

struct filter_outcome {
  filter_action action = filter_action::failed;
  pass_reason reason = pass_reason::none;
  std::string detail;                     // human-readable why, never message content
  std::optional<error_kind> error;        // set when reason == error
  std::vector<std::string> fingerprints;  // the keys used
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

// Reads all of `in_fd`, then writes the result to `out_fd` only once it is
// complete: the encrypted message, or the original bytes, or (policy `fail`)
// nothing. Neither descriptor is closed. Failures inside become outcomes; only
// a failure to write `out_fd` itself, after which nothing sensible can be
// written, throws error(io). With a timeout, the children it started (gpg)
// are stopped when it runs out, and the run ends by the `on_error` policy.
filter_outcome run_filter(int in_fd, int out_fd, const filter_options& options);

}  // namespace gpgseal
