#include "cli/common/options.hpp"

#include <pwd.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <ostream>

#include "cli/common/environment.hpp"
#include "cli/common/exit_status.hpp"
#include "cli/common/usage.hpp"
#include "gpgseal/version.hpp"

namespace gpgseal::cli {

namespace {

auto text_value() { return po::value<std::string>(); }

void add_keyring_options(po::options_description& options) {
  options.add_options()(
      "gnupghome", text_value()->value_name("DIR"),
      "keyring directory; may be a template with %u (address), %n (local part), %d (domain), "
      "%% (a percent sign)")("home-from-passwd",
                             "use ~/.gnupg of the running user from the password database "
                             "(gpgit's behaviour) instead of $GNUPGHOME or $HOME")(
      "no-key-cache",
      "list the keyring for every message instead of remembering the chosen keys in "
      "gpgseal-keycache there");
}

void add_encryption_options(po::options_description& options) {
  options.add_options()(
      "encrypt-mode", text_value()->value_name("MODE")->default_value("pgpmime"),
      "pgpmime; prefer-inline (inline PGP for a single text/plain part, else PGP/MIME); "
      "inline-or-plain (inline PGP for a single text/plain part, else unchanged)")(
      "inline-flatten",
      "with an inline mode: reduce multipart/alternative and "
      "multipart/related mail to its text/plain part first (lossy)")(
      "inline-utf8", "with an inline mode: convert the text to UTF-8 before encrypting it")(
      "hide-subject",
      "the outer Subject becomes [...], Comments and Keywords go (RFC 9788 hcp_baseline); "
      "PGP/MIME only")("no-legacy-display",
                       "with --hide-subject: no Subject line atop the text (RFC 9788 4.5)")(

      "prefer", text_value()->value_name("openpgp|smime")->default_value("openpgp"),
      "when the keyring has both a usable OpenPGP key and a usable X.509 certificate: "
      "encrypt with OpenPGP, or with S/MIME");
}

void add_delivery_policy(po::options_description& options, on_failure on_error) {
  const char* on_error_default = on_error == on_failure::fail ? "fail" : "pass";
  options.add_options()(
      "on-missing-key", text_value()->value_name("pass|fail")->default_value("pass"),
      "no usable key: pass the message through unchanged, or fail (exit 75, no output)")(
      "on-error", text_value()->value_name("pass|fail")->default_value(on_error_default),
      "any error: pass the message through unchanged, or fail (exit 75, no output)")(
      "on-missing-keyring", text_value()->value_name("pass|fail|error")->default_value("error"),
      "the keyring directory does not exist (the user has not opted in): pass the message "
      "through unchanged with a notice, fail (exit 75, no output), or treat it as an error "
      "(--on-error decides)");
}

void add_limit_options(po::options_description& options, bool delivery) {
  options.add_options()("timeout", text_value()->value_name("SECONDS"),
                        delivery ? "give up after this long, stop gpg, and apply --on-error"
                                 : "give up on a message after this long and stop gpg; the "
                                   "message stays as it is")(
      "max-size", text_value()->value_name("BYTES"),
      delivery ? "apply --on-error to larger messages without trying (suffixes K, M, G)"
               : "leave larger messages as they are (suffixes K, M, G)");
}

void add_logging_options(po::options_description& options) {
  options.add_options()(
      "log", text_value()->value_name("WHERE")->default_value("syslog"),
      "the line per message: syslog, stderr (syslog and stderr), dovecot (syslog, and stderr "
      "at the right level in Dovecot's log under LMTP) or none; errors always go to stderr "
      "and syslog")("syslog-facility", text_value()->value_name("NAME")->default_value("mail"),
                    "mail, user, daemon or local0..local7");
}

void add_domain_option(po::options_description& options) {
  options.add_options()("domain", text_value()->value_name("DOMAIN"),
                        "complete an ADDRESS without '@' (a Unix login) to ADDRESS@DOMAIN; "
                        "empty: no completion");
}

void add_gpgit_options(po::options_description& options) {
  options.add_options()("skip-smime", "accepted; S/MIME encrypted mail is always passed through")(
      "skip-ms-bug", "accepted; PGP/MIME mangled by Microsoft Exchange is always passed through");
}

[[noreturn]] void usage(const std::string& text) { throw usage_error(text); }

on_failure policy_from(const std::string& option, const std::string& value) {
  if (value == "pass") return on_failure::pass;
  if (value == "fail") return on_failure::fail;
  usage("--" + option + " " + value + ": use pass or fail");
}

log_destination log_from(const std::string& value) {
  if (value == "syslog") return log_destination::syslog;
  if (value == "stderr") return log_destination::syslog_and_stderr;
  if (value == "none") return log_destination::none;
  if (value == "dovecot") return log_destination::dovecot;
  usage("--log " + value + ": use syslog, stderr, dovecot or none");
}

on_missing_keyring missing_keyring_from(const std::string& value) {
  if (value == "pass") return on_missing_keyring::pass;
  if (value == "fail") return on_missing_keyring::fail;
  if (value == "error") return on_missing_keyring::error;
  usage("--on-missing-keyring " + value + ": use pass, fail or error");
}

std::string domain_from(const std::string& value) {
  if (value.empty()) return value;
  if (value.find('@') != std::string::npos || mailbox_problem("x@" + value)) {
    usage("--domain " + value + ": not a mail domain");
  }
  return value;
}

encrypt_mode mode_from(const std::string& value) {
  if (value == "pgpmime") return encrypt_mode::pgp_mime;
  if (value == "prefer-inline") return encrypt_mode::prefer_inline;
  if (value == "inline-or-plain") return encrypt_mode::inline_or_plain;
  usage("--encrypt-mode " + value + ": use pgpmime, prefer-inline or inline-or-plain");
}

protocol_preference preference_from(const std::string& value) {
  if (value == "openpgp") return protocol_preference::openpgp;
  if (value == "smime") return protocol_preference::smime;
  usage("--prefer " + value + ": use openpgp or smime");
}

int facility_from(const std::string& value) {
  if (value == "mail") return LOG_MAIL;
  if (value == "user") return LOG_USER;
  if (value == "daemon") return LOG_DAEMON;
  static const int local[] = {LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
                              LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};
  if (value.size() == 6 && value.compare(0, 5, "local") == 0 && value[5] >= '0' &&
      value[5] <= '7') {
    return local[value[5] - '0'];
  }
  usage("--syslog-facility " + value + ": use mail, user, daemon or local0..local7");
}

double seconds_from(const std::string& value) {
  char* end = nullptr;
  double seconds = std::strtod(value.c_str(), &end);
  // Below a millisecond the deadline would round to none at all.
  if (value.empty() || *end != '\0' || !std::isfinite(seconds) || seconds < 0.001 ||
      seconds > 86400) {
    usage("--timeout " + value + ": use a number of seconds from 0.001 to 86400");
  }
  return seconds;
}

std::uint64_t bytes_from(const std::string& value) {
  char* end = nullptr;
  errno = 0;
  unsigned long long number = std::strtoull(value.c_str(), &end, 10);
  std::uint64_t scale = 1;
  if (*end == 'K' || *end == 'k') scale = 1ULL << 10;
  if (*end == 'M' || *end == 'm') scale = 1ULL << 20;
  if (*end == 'G' || *end == 'g') scale = 1ULL << 30;
  if (scale != 1) ++end;
  bool digits = !value.empty() && value[0] >= '0' && value[0] <= '9';
  if (!digits || *end != '\0' || errno != 0 || number == 0 || number > UINT64_MAX / scale) {
    usage("--max-size " + value +
          ": use a number of bytes greater than 0, optionally with K, M "
          "or G");
  }
  return number * scale;
}

std::optional<std::string> text_of(const po::variables_map& vm, const char* name) {
  if (vm.count(name) == 0) return std::nullopt;
  return vm[name].as<std::string>();
}

void read_keyring(const po::variables_map& vm, shared_options& options) {
  options.gnupg_home = text_of(vm, "gnupghome");
  options.home_from_passwd = vm.count("home-from-passwd") > 0;
  options.key_cache = vm.count("no-key-cache") == 0;
  if (options.gnupg_home && options.home_from_passwd) {
    usage("--gnupghome and --home-from-passwd exclude each other");
  }
  if (options.gnupg_home) {
    if (auto problem = keyring_template_problem(*options.gnupg_home)) {
      usage("--gnupghome " + *options.gnupg_home + ": " + *problem);
    }
  }
}

void read_encryption(const po::variables_map& vm, shared_options& options) {
  options.mode = mode_from(*text_of(vm, "encrypt-mode"));
  options.inline_flatten = vm.count("inline-flatten") > 0;
  options.prefer = preference_from(*text_of(vm, "prefer"));
  if (options.inline_flatten && options.mode == encrypt_mode::pgp_mime) {
    usage("--inline-flatten needs --encrypt-mode prefer-inline or inline-or-plain");
  }
  options.inline_utf8 = vm.count("inline-utf8") > 0;
  if (options.inline_utf8 && options.mode == encrypt_mode::pgp_mime) {
    usage("--inline-utf8 needs --encrypt-mode prefer-inline or inline-or-plain");
  }
  options.headers.hide_subject = vm.count("hide-subject") > 0;
  options.headers.legacy_display = vm.count("no-legacy-display") == 0;
  if (options.headers.hide_subject && options.mode != encrypt_mode::pgp_mime) {
    usage("--hide-subject needs --encrypt-mode pgpmime: inline PGP has no protected headers");
  }
  if (!options.headers.legacy_display && !options.headers.hide_subject) {
    usage("--no-legacy-display needs --hide-subject");
  }
}

void read_groups(const po::variables_map& vm, unsigned groups, shared_options& options) {
  if (groups & keyring_options) read_keyring(vm, options);
  if (groups & encryption_options) read_encryption(vm, options);
  if (groups & delivery_policy) {
    options.on_missing_key = policy_from("on-missing-key", *text_of(vm, "on-missing-key"));
    options.on_error = policy_from("on-error", *text_of(vm, "on-error"));
    options.missing_keyring = missing_keyring_from(*text_of(vm, "on-missing-keyring"));
  }
  if (groups & limit_options) {
    if (auto value = text_of(vm, "timeout")) options.timeout_seconds = seconds_from(*value);
    if (auto value = text_of(vm, "max-size")) options.max_size = bytes_from(*value);
  }
  if (groups & domain_option) {
    if (auto value = text_of(vm, "domain")) options.domain = domain_from(*value);
  }
  if (groups & logging_options) {
    options.log = log_from(*text_of(vm, "log"));
    options.syslog_facility = facility_from(*text_of(vm, "syslog-facility"));
  }
}

std::string passwd_home() {
  struct passwd* entry = ::getpwuid(::geteuid());
  return entry && entry->pw_dir ? entry->pw_dir : "";
}

std::chrono::milliseconds milliseconds_of(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

}  // namespace

command_line::command_line(std::string program, unsigned groups)
    : program_(std::move(program)), groups_(groups), own_("Options of " + program_) {}

void command_line::add_positional(const char* name, int max_count) {
  if (max_count == 1) {
    hidden_.add_options()(name, po::value<std::string>());
  } else {
    hidden_.add_options()(name, po::value<std::vector<std::string>>());
  }
  positional_.add(name, max_count);
}

po::options_description command_line::visible() const {
  po::options_description options("Options");
  options.add_options()("help,h", "print this help and exit")("version",
                                                              "print the version and exit");
  if (groups_ & keyring_options) add_keyring_options(options);
  if (groups_ & encryption_options) add_encryption_options(options);
  if (groups_ & delivery_policy) add_delivery_policy(options, on_error_default_);
  if (groups_ & limit_options) add_limit_options(options, (groups_ & delivery_policy) != 0);
  if (groups_ & domain_option) add_domain_option(options);
  if (groups_ & logging_options) add_logging_options(options);
  if (groups_ & gpgit_options) {
    po::options_description gpgit("gpgit compatibility");
    add_gpgit_options(gpgit);
    options.add(gpgit);
  }
  if (!own_.options().empty()) options.add(own_);
  return options;
}

shared_options command_line::parse(int argc, char** argv, po::variables_map& vm) const {
  po::options_description all = visible();
  all.add(hidden_);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional_).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    usage(e.what());
  }
  shared_options options;
  options.help = vm.count("help") > 0;
  options.version = vm.count("version") > 0;
  if (!options.help && !options.version) read_groups(vm, groups_, options);
  return options;
}

void command_line::print_options(std::ostream& out) const { out << visible(); }

std::string completed_address(const std::string& login, const std::string& domain) {
  if (domain.empty() || login.empty() || login.find('@') != std::string::npos) return login;
  return login + "@" + domain;
}

std::optional<int> answer_help_or_version(const command_line& cl, const shared_options& options,
                                          void (*print_help)(const command_line&)) {
  if (options.help) {
    print_help(cl);
  } else if (options.version) {
    std::cout << cl.program() << " " << version_string << "\n";
  } else {
    return std::nullopt;
  }
  return exit_status(ending::ok);
}

std::vector<std::string> recipient_addresses(const po::variables_map& vm, const char* name,
                                             const std::string& domain) {
  if (vm.count(name) == 0) usage("no recipient ADDRESS given");
  auto addresses = vm[name].as<std::vector<std::string>>();
  for (auto& address : addresses) {
    address = completed_address(address, domain);
    if (auto problem = mailbox_problem(address)) {
      std::string hint = address.find('@') == std::string::npos && domain.empty()
                             ? " (a bare login needs --domain)"
                             : "";
      usage("'" + address + "' is not a plain mailbox address: " + *problem + hint);
    }
  }
  return addresses;
}

seal_settings settings_for(const shared_options& options, std::vector<std::string> addresses) {
  seal_settings settings;
  settings.addresses = std::move(addresses);
  if (options.gnupg_home) {
    settings.gnupg_home = *options.gnupg_home;
    settings.gnupg_home_is_template = settings.gnupg_home.find('%') != std::string::npos;
  } else if (options.home_from_passwd) {
    std::string home = passwd_home();
    settings.gnupg_home = home.empty() ? "" : home + "/.gnupg";
  } else {
    settings.gnupg_home = gnupg_home_from_environment();
  }
  settings.engine_default_home = gnupg_home_from_environment();
  settings.key_cache = options.key_cache;
  std::string tmp = env_or_empty("TMPDIR");
  settings.temp_dir = tmp.empty() ? "/tmp" : tmp;
  settings.mode = options.mode;
  settings.inline_flatten = options.inline_flatten;
  settings.inline_utf8 = options.inline_utf8;
  settings.headers = options.headers;
  settings.prefer = options.prefer;
  return settings;
}

failure_policy policy_for(const shared_options& options) {
  failure_policy policy;
  policy.on_missing_key = options.on_missing_key;
  policy.on_error = options.on_error;
  policy.missing_keyring = options.missing_keyring;
  policy.timeout = milliseconds_of(options.timeout_seconds);
  policy.max_size = options.max_size;
  return policy;
}

maildir_limits limits_for(const shared_options& options) {
  return {milliseconds_of(options.timeout_seconds), options.max_size};
}

}  // namespace gpgseal::cli
