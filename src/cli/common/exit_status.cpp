#include "cli/common/exit_status.hpp"

#include <sysexits.h>

namespace gpgseal::cli {

int exit_status(ending how) noexcept {
  switch (how) {
    case ending::ok:
      return EX_OK;
    case ending::attention:
      return 1;
    case ending::usage:
      return EX_USAGE;
    case ending::data:
      return EX_DATAERR;
    case ending::unavailable:
      return EX_UNAVAILABLE;
    case ending::software:
      return EX_SOFTWARE;
    case ending::io:
      return EX_IOERR;
    case ending::tempfail:
      return EX_TEMPFAIL;
    case ending::config:
      return EX_CONFIG;
  }
  return EX_SOFTWARE;
}

ending ending_for(error_kind kind) noexcept {
  switch (kind) {
    case error_kind::bad_target:
      return ending::usage;  // the admin named it on the command line
    case error_kind::data:
      return ending::data;
    case error_kind::unavailable:
      return ending::unavailable;
    case error_kind::software:
      return ending::software;
    case error_kind::io:
      return ending::io;
    case error_kind::tempfail:
      return ending::tempfail;
    case error_kind::config:
      return ending::config;
  }
  return ending::software;
}

ending ending_for(const filter_outcome& outcome) noexcept {
  if (outcome.action != filter_action::failed) return ending::ok;
  // Retrying cannot make an empty input a message.
  if (outcome.reason == pass_reason::empty_input) return ending::data;
  // A failure under the `fail` policy asks the caller to try again later,
  // whatever went wrong: the message itself is intact upstream.
  return ending::tempfail;
}

ending ending_for(const maildir_summary& summary) noexcept {
  return summary.complete() ? ending::ok : ending::tempfail;
}

}  // namespace gpgseal::cli
