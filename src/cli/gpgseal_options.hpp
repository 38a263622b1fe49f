// gpgseal's command line: the options, their parsing and validation, and the
// keyring resolution order. The only place (with main) that sees argv and the
// environment.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/log.hpp"
#include "core/filter.hpp"

namespace gpgseal::cli {

struct gpgseal_command {
  bool help = false;
  bool version = false;
  std::optional<std::string> gnupg_home;  // a directory or a %u/%n/%d template
  bool home_from_passwd = false;
  bool key_cache = true;
  on_failure on_missing_key = on_failure::pass;
  on_failure on_error = on_failure::pass;
  double timeout_seconds = 0;
  std::uint64_t max_size = 0;
  log_destination log = log_destination::syslog;
  int syslog_facility = 0;  // a LOG_* facility value
  encrypt_mode mode = encrypt_mode::pgp_mime;
  bool inline_flatten = false;
  std::vector<std::string> addresses;
};

// Throws error(usage) with a message for the user on any bad option or value.
gpgseal_command parse_gpgseal_command(int argc, char** argv);

void print_gpgseal_help(std::ostream& out);

// --gnupghome, else --home-from-passwd, else $GNUPGHOME, else $HOME/.gnupg.
// Returns the filter options for a validated command.
filter_options filter_options_for(const gpgseal_command& command);

}  // namespace gpgseal::cli
