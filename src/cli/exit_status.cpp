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
  // A failure under the `fail` policy asks the caller to try again later,
  // whatever went wrong: the message itself is intact upstream.
  return outcome.action == filter_action::failed ? EX_TEMPFAIL : EX_OK;
}

}  // namespace gpgseal::cli
