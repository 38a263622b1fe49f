#include "cli/common/explain.hpp"

#include <cmath>

namespace gpgseal::cli {

namespace {

// "0.3 s", "10 s": as the admin wrote it, without trailing zeros.
std::string seconds_text(double seconds) {
  long long ms = std::llround(seconds * 1000);
  std::string text = std::to_string(ms / 1000);
  if (long long rest = ms % 1000; rest != 0) {
    std::string fraction = std::to_string(1000 + rest).substr(1);
    text += "." + fraction.substr(0, fraction.find_last_not_of('0') + 1);
  }
  return text + " s";
}

// An empty keyring directory means nothing named one: the environment of
// Dovecot or an MTA has no HOME, or a template was not given.
bool keyring_unnamed(std::optional<error_kind> kind, const seal_settings& settings) {
  return kind == error_kind::config && settings.gnupg_home.empty();
}

std::string engine_of(const filter_outcome& outcome) {
  return outcome.stopped.empty() ? "gpg" : outcome.stopped;
}

const char* const unnamed_keyring = "no keyring directory: no --gnupghome, GNUPGHOME or HOME";

}  // namespace

std::string explain(const filter_outcome& outcome, const shared_options& options,
                    const seal_settings& settings) {
  switch (outcome.reason) {
    case pass_reason::too_large:
      return "message of " + std::to_string(outcome.bytes_in) +
             " bytes is larger than --max-size " + std::to_string(options.max_size);
    case pass_reason::timed_out:
      return "gave up at the --timeout of " + seconds_text(options.timeout_seconds) +
             " and stopped " + engine_of(outcome) + "; message not encrypted";
    case pass_reason::stuck:
      return "stuck after the --timeout, even with " + engine_of(outcome) + " stopped";
    case pass_reason::not_inline:
      return "not a single text/plain part, and --encrypt-mode is inline-or-plain";
    case pass_reason::error:
      return keyring_unnamed(outcome.error, settings) ? unnamed_keyring : outcome.detail;
    default:
      return outcome.detail;
  }
}

std::string explain(const error& failure, const seal_settings& settings) {
  return keyring_unnamed(failure.kind(), settings) ? unnamed_keyring : failure.what();
}

}  // namespace gpgseal::cli
