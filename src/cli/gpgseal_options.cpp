#include "cli/gpgseal_options.hpp"

#include <pwd.h>
#include <syslog.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdlib>
#include <ostream>

#include "cli/gnupg_environment.hpp"
#include "core/address.hpp"
#include "core/error.hpp"
#include "core/keyring_dir.hpp"

namespace po = boost::program_options;

namespace gpgseal::cli {

namespace {

po::options_description visible_options() {
  po::options_description options("Options");
  auto text = [] { return po::value<std::string>(); };
  options.add_options()("help,h", "print this help and exit")("version",
                                                              "print the version and exit")(
      "gnupghome", text()->value_name("DIR"),
      "keyring directory; may be a template with %u (address), %n (local part), %d (domain)")(
      "home-from-passwd",
      "use ~/.gnupg of the running user from the password database "
      "(gpgit's behaviour) instead of $GNUPGHOME or $HOME")(
      "no-key-cache",
      "list the keyring for every message instead of remembering the chosen keys in "
      "gpgseal-keycache there")(
      "on-missing-key", text()->value_name("pass|fail")->default_value("pass"),
      "no usable key: pass the message through unchanged, or fail (exit 75, no output)")(
      "on-error", text()->value_name("pass|fail")->default_value("pass"),
      "any error: pass the message through unchanged, or fail (exit 75, no output)")(
      "timeout", text()->value_name("SECONDS"),
      "give up after this long, stop gpg, and apply --on-error")(
      "max-size", text()->value_name("BYTES"),
      "apply --on-error to larger messages without trying (suffixes K, M, G)")(
      "log", text()->value_name("WHERE")->default_value("syslog"),
      "the line per message: syslog, stderr (syslog and stderr) or none; errors always go "
      "to stderr and syslog")("syslog-facility", text()->value_name("NAME")->default_value("mail"),
                              "mail, user, daemon or local0..local7");
  po::options_description gpgit("gpgit compatibility");
  gpgit.add_options()(
      "encrypt-mode", text()->value_name("MODE")->default_value("pgpmime"),
      "pgpmime; prefer-inline (inline PGP for a single text/plain part, else PGP/MIME); "
      "inline-or-plain (inline PGP for a single text/plain part, else unchanged)")(
      "inline-flatten",
      "with an inline mode: reduce multipart/alternative and "
      "multipart/related mail to its text/plain part first (lossy)")(
      "skip-smime", "accepted; S/MIME encrypted mail is always passed through")(
      "skip-ms-bug", "accepted; PGP/MIME mangled by Microsoft Exchange is always passed through");
  options.add(gpgit);
  return options;
}

[[noreturn]] void usage(const std::string& text) { throw error(error_kind::usage, text); }

on_failure policy_from(const std::string& option, const std::string& value) {
  if (value == "pass") return on_failure::pass;
  if (value == "fail") return on_failure::fail;
  usage("--" + option + " " + value + ": use pass or fail");
}

log_destination log_from(const std::string& value) {
  if (value == "syslog") return log_destination::syslog;
  if (value == "stderr") return log_destination::syslog_and_stderr;
  if (value == "none") return log_destination::none;
  usage("--log " + value + ": use syslog, stderr or none");
}

encrypt_mode mode_from(const std::string& value) {
  if (value == "pgpmime") return encrypt_mode::pgp_mime;
  if (value == "prefer-inline") return encrypt_mode::prefer_inline;
  if (value == "inline-or-plain") return encrypt_mode::inline_or_plain;
  usage("--encrypt-mode " + value + ": use pgpmime, prefer-inline or inline-or-plain");
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
  if (*end == 'K' || *end == 'k') scale = 1ull << 10;
  if (*end == 'M' || *end == 'm') scale = 1ull << 20;
  if (*end == 'G' || *end == 'g') scale = 1ull << 30;
  if (scale != 1) ++end;
  bool digits = !value.empty() && value[0] >= '0' && value[0] <= '9';
  if (!digits || *end != '\0' || errno != 0 || number == 0 || number > UINT64_MAX / scale) {
    usage("--max-size " + value +
          ": use a number of bytes greater than 0, optionally with K, M "
          "or G");
  }
  return number * scale;
}

void validate(const gpgseal_command& command) {
  if (command.help || command.version) return;
  if (command.addresses.empty()) usage("no recipient ADDRESS given");
  for (const auto& address : command.addresses) {
    if (auto problem = mailbox_problem(address)) {
      usage("'" + address + "' is not a plain mailbox address: " + *problem);
    }
  }
  if (command.inline_flatten && command.mode == encrypt_mode::pgp_mime) {
    usage("--inline-flatten needs --encrypt-mode prefer-inline or inline-or-plain");
  }
  if (command.gnupg_home && command.home_from_passwd) {
    usage("--gnupghome and --home-from-passwd exclude each other");
  }
  if (command.gnupg_home) {
    if (auto problem = keyring_template_problem(*command.gnupg_home)) {
      usage("--gnupghome " + *command.gnupg_home + ": " + *problem);
    }
  }
}

std::string value_of(const po::variables_map& vm, const char* name) {
  return vm[name].as<std::string>();
}

gpgseal_command command_from(const po::variables_map& vm) {
  gpgseal_command command;
  command.help = vm.count("help") > 0;
  command.version = vm.count("version") > 0;
  if (vm.count("gnupghome")) command.gnupg_home = value_of(vm, "gnupghome");
  command.home_from_passwd = vm.count("home-from-passwd") > 0;
  command.key_cache = vm.count("no-key-cache") == 0;
  command.on_missing_key = policy_from("on-missing-key", value_of(vm, "on-missing-key"));
  command.on_error = policy_from("on-error", value_of(vm, "on-error"));
  if (vm.count("timeout")) command.timeout_seconds = seconds_from(value_of(vm, "timeout"));
  if (vm.count("max-size")) command.max_size = bytes_from(value_of(vm, "max-size"));
  command.log = log_from(value_of(vm, "log"));
  command.syslog_facility = facility_from(value_of(vm, "syslog-facility"));
  command.mode = mode_from(value_of(vm, "encrypt-mode"));
  command.inline_flatten = vm.count("inline-flatten") > 0;
  if (vm.count("address")) command.addresses = vm["address"].as<std::vector<std::string>>();
  return command;
}

std::string passwd_home() {
  struct passwd* entry = ::getpwuid(::geteuid());
  return entry && entry->pw_dir ? entry->pw_dir : "";
}

}  // namespace

gpgseal_command parse_gpgseal_command(int argc, char** argv) {
  po::options_description all = visible_options();
  all.add_options()("address", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("address", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    usage(e.what());
  }
  gpgseal_command command = command_from(vm);
  validate(command);
  return command;
}

void print_gpgseal_help(std::ostream& out) {
  out << "Usage: gpgseal [OPTIONS] ADDRESS...\n"
         "Encrypt the message on standard input to the OpenPGP keys of ADDRESS... as\n"
         "PGP/MIME (RFC 3156) and write it to standard output. A message that is already\n"
         "encrypted, or for which an address has no usable key, is written unchanged.\n\n"
      << visible_options()
      << "\nA key is used for an address only if one of its valid user IDs has exactly\n"
         "that address and it has a usable encryption subkey. The keyring is --gnupghome,\n"
         "else ~/.gnupg from the password database with --home-from-passwd, else\n"
         "$GNUPGHOME, else $HOME/.gnupg.\n";
}

filter_options filter_options_for(const gpgseal_command& command) {
  filter_options options;
  options.addresses = command.addresses;
  if (command.gnupg_home) {
    options.gnupg_home = *command.gnupg_home;
    options.gnupg_home_is_template = options.gnupg_home.find('%') != std::string::npos;
  } else if (command.home_from_passwd) {
    std::string home = passwd_home();
    options.gnupg_home = home.empty() ? "" : home + "/.gnupg";
  } else {
    options.gnupg_home = gnupg_home_from_environment();
  }
  options.engine_default_home = gnupg_home_from_environment();
  options.key_cache = command.key_cache;
  std::string tmp = env_or_empty("TMPDIR");
  options.temp_dir = tmp.empty() ? "/tmp" : tmp;
  options.on_missing_key = command.on_missing_key;
  options.on_error = command.on_error;
  options.timeout = std::chrono::milliseconds(std::llround(command.timeout_seconds * 1000));
  options.max_size = command.max_size;
  options.mode = command.mode;
  options.inline_flatten = command.inline_flatten;
  return options;
}

}  // namespace gpgseal::cli
