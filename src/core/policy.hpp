// Public face: what to do with a message that cannot be sealed. Kept apart
// from seal_settings so that each front-end offers exactly the choices that
// make sense for it (a batch over stored mail has nothing to pass on).
#pragma once

#include <chrono>
#include <cstdint>

namespace gpgseal {

enum class on_failure {
  pass,  // write the original unchanged (gpgit's behaviour)
  fail,  // write nothing; the caller signals a temporary failure
};

// A keyring directory that does not exist at all. Where each user opts in by
// creating one, its absence is a choice, not a fault.
enum class on_missing_keyring {
  error,  // an error like any other unusable keyring: `on_error` decides
  pass,   // write the original unchanged; a notice, not an error
  fail,   // write nothing; the caller signals a temporary failure
};

struct failure_policy {
  on_failure on_missing_key = on_failure::pass;  // an address has no usable key
  on_missing_keyring missing_keyring = on_missing_keyring::error;
  on_failure on_error = on_failure::pass;  // anything else went wrong
  std::chrono::milliseconds timeout{0};    // for the whole run; 0: none
  std::uint64_t max_size = 0;              // larger messages are errors; 0: no limit
};

}  // namespace gpgseal
