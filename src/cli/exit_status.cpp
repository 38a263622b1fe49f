#include "cli/exit_status.hpp"

#include <sysexits.h>

namespace gpgseal::cli {

int exit_status_for(error_kind kind) noexcept {
  switch (kind) {
    case error_kind::usage:
      return EX_USAGE;
    case error_kind::data:
      return EX_DATAERR;
    case error_kind::unavailable:
      return EX_UNAVAILABLE;
    case error_kind::software:
      return EX_SOFTWARE;
    case error_kind::io:
      return EX_IOERR;
    case error_kind::tempfail:
      return EX_TEMPFAIL;
    case error_kind::config:
      return EX_CONFIG;
  }
  return EX_SOFTWARE;
}

int exit_status_for(const filter_outcome& outcome) noexcept {
  if (outcome.action != filter_action::failed) return EX_OK;
  // Retrying cannot make an empty input a message.
  if (outcome.reason == pass_reason::empty_input) return EX_DATAERR;
  // A failure under the `fail` policy asks the caller to try again later,
  // whatever went wrong: the message itself is intact upstream.
  return EX_TEMPFAIL;
}

}  // namespace gpgseal::cli
