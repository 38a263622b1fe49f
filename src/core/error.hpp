// The one error type the core throws. It carries a kind, which the CLI maps to
// an exit status in one place, and a message that names the thing and the cause.
#pragma once

#include <stdexcept>
#include <string>

namespace gpgseal {

enum class error_kind {
  bad_target,   // the caller named something that does not exist or is not what it said
  data,         // the input cannot be handled as a message
  unavailable,  // a needed service (gpg) failed or is missing
  software,     // an internal inconsistency
  io,           // reading, writing or spooling failed
  tempfail,     // retrying later may succeed
  config,       // the keyring or environment is unusable
};

class error : public std::runtime_error {
 public:
  error(error_kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] error_kind kind() const noexcept { return kind_; }

 private:
  error_kind kind_;
};

// Builds an io error whose text ends with strerror(errnum).
error system_error(const std::string& what, int errnum);

}  // namespace gpgseal
