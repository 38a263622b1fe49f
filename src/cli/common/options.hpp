// The options every gpgseal front-end shares, declared, parsed and validated
// here once (notmuch's shared option tables, ripgrep's raw → validated split).
// A front-end names the groups it offers, adds only its own options and
// positional arguments, and gets back validated values: the same bad value
// gets the same message from every tool. Everything here throws usage_error.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/common/log.hpp"
#include "core/maildir.hpp"
#include "core/policy.hpp"
#include "core/settings.hpp"

namespace gpgseal::cli {

namespace po = boost::program_options;

// The groups of shared options; a front-end offers a combination.
enum option_group : unsigned {
  keyring_options = 1U << 0,     // --gnupghome, --home-from-passwd, --no-key-cache
  encryption_options = 1U << 1,  // --encrypt-mode, --inline-flatten, --inline-utf8,
                                 // --hide-subject, --no-legacy-display, --prefer
  delivery_policy = 1U << 2,     // --on-missing-key, --on-error
  limit_options = 1U << 3,       // --timeout, --max-size
  logging_options = 1U << 4,     // --log, --syslog-facility
  gpgit_options = 1U << 5,       // --skip-smime, --skip-ms-bug (accepted, no effect)
  domain_option = 1U << 6,       // --domain: completes a bare login to login@domain
};

// The validated values of the shared options; those of a group a front-end
// does not offer keep their defaults.
struct shared_options {
  bool help = false;
  bool version = false;
  std::optional<std::string> gnupg_home;  // a directory or a %u/%n/%d template
  bool home_from_passwd = false;
  bool key_cache = true;
  encrypt_mode mode = encrypt_mode::pgp_mime;
  bool inline_flatten = false;
  bool inline_utf8 = false;
  header_protection headers;
  protocol_preference prefer = protocol_preference::openpgp;
  on_failure on_missing_key = on_failure::pass;
  on_failure on_error = on_failure::pass;
  on_missing_keyring missing_keyring = on_missing_keyring::error;
  std::string domain;  // "" : none; addresses must be complete
  double timeout_seconds = 0;
  std::uint64_t max_size = 0;
  log_destination log = log_destination::syslog;
  int syslog_facility = 0;  // a LOG_* facility value
};

// One front-end's command line: the shared groups it offers, its own
// options, and its positional arguments.
class command_line {
 public:
  command_line(std::string program, unsigned groups);

  [[nodiscard]] const std::string& program() const noexcept { return program_; }
  // The front-end's own options, shown after the shared ones.
  po::options_description& own_options() noexcept { return own_; }
  // A positional argument: `max_count` -1 takes all that remain.
  void add_positional(const char* name, int max_count);
  // The default of --on-error (pass unless set): an MTA that can defer
  // prefers fail.
  void set_on_error_default(on_failure value) noexcept { on_error_default_ = value; }

  // Parses and validates the shared options; the front-end reads its own
  // from `vm`. Throws usage_error.
  shared_options parse(int argc, char** argv, po::variables_map& vm) const;
  // The shared and own options, for --help.
  void print_options(std::ostream& out) const;

 private:
  [[nodiscard]] po::options_description visible() const;

  std::string program_;
  unsigned groups_;
  on_failure on_error_default_ = on_failure::pass;
  po::options_description own_;
  po::options_description hidden_;
  po::positional_options_description positional_;
};

// With --help or --version, prints the help (through `print_help`) or the
// program's version on stdout and returns the exit status; else nullopt.
std::optional<int> answer_help_or_version(const command_line& cl, const shared_options& options,
                                          void (*print_help)(const command_line&));

// The addresses in `vm[name]`, each a plain mailbox; at least one. A bare
// login (no '@') becomes login@domain when `domain` is not empty. Throws
// usage_error.
std::vector<std::string> recipient_addresses(const po::variables_map& vm, const char* name,
                                             const std::string& domain = "");

// `login` completed to login@domain when it has no '@' and `domain` is not
// empty; else `login` as it is.
std::string completed_address(const std::string& login, const std::string& domain);

// --gnupghome, else --home-from-passwd, else $GNUPGHOME, else $HOME/.gnupg.
seal_settings settings_for(const shared_options& options, std::vector<std::string> addresses);
failure_policy policy_for(const shared_options& options);
maildir_limits limits_for(const shared_options& options);

}  // namespace gpgseal::cli
