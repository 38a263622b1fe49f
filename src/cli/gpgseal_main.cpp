// gpgseal: the mail filter. Message on stdin, recipient addresses as
// arguments, the message encrypted (or unchanged) on stdout.
//
// parse → validate → run the core filter → map the outcome to an exit status.
#include <sysexits.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/exit_status.hpp"
#include "cli/log.hpp"
#include "core/address.hpp"
#include "core/filter.hpp"
#include "core/spool.hpp"
#include "gpgseal/version.hpp"

namespace po = boost::program_options;

namespace {

struct command_line {
  bool help = false;
  bool version = false;
  std::optional<std::string> gnupg_home;
  gpgseal::cli::log_destination log = gpgseal::cli::log_destination::syslog;
  std::vector<std::string> addresses;
};

po::options_description visible_options() {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("gnupghome", po::value<std::string>()->value_name("DIR"),
       "keyring directory (default: $GNUPGHOME, else $HOME/.gnupg)")
      ("log", po::value<std::string>()->value_name("WHERE")->default_value("syslog"),
       "the line per message: syslog, stderr (syslog and stderr) or none; errors always go "
       "to stderr and syslog");
  return options;
}

void print_help(std::ostream& out) {
  out << "Usage: gpgseal [OPTIONS] ADDRESS...\n"
         "Encrypt the message on standard input to the OpenPGP keys of ADDRESS... as\n"
         "PGP/MIME (RFC 3156) and write it to standard output. A message that is already\n"
         "encrypted, or for which an address has no usable key, is written unchanged.\n\n"
      << visible_options()
      << "\nA key is used for an address only if one of its valid user IDs has exactly\n"
         "that address and it has a usable encryption subkey. On any error the original\n"
         "message is written unchanged and the reason goes to stderr and syslog.\n";
}

gpgseal::cli::log_destination log_destination_from(const std::string& value) {
  using gpgseal::cli::log_destination;
  if (value == "syslog") return log_destination::syslog;
  if (value == "stderr") return log_destination::syslog_and_stderr;
  if (value == "none") return log_destination::none;
  throw po::invalid_option_value("--log " + value + " (use syslog, stderr or none)");
}

command_line parse(int argc, char** argv) {
  po::options_description all = visible_options();
  all.add_options()("address", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("address", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
  po::notify(vm);
  command_line cl;
  cl.help = vm.count("help") > 0;
  cl.version = vm.count("version") > 0;
  if (vm.count("gnupghome")) cl.gnupg_home = vm["gnupghome"].as<std::string>();
  if (vm.count("address")) cl.addresses = vm["address"].as<std::vector<std::string>>();
  cl.log = log_destination_from(vm["log"].as<std::string>());
  return cl;
}

// Dovecot's LMTP fails a delivery whose filter exits before reading all its
// input; on a terminal there is nothing to drain and reading would block.
void drain_stdin_unless_terminal() {
  if (::isatty(STDIN_FILENO)) return;
  try {
    gpgseal::drain_input(STDIN_FILENO);
  } catch (const gpgseal::error&) {
    // Nothing more can be done for input that cannot be read.
  }
}

int usage_error(const std::string& text) {
  std::cerr << "gpgseal: " << text << "\nTry 'gpgseal --help' for more information.\n";
  drain_stdin_unless_terminal();
  return EX_USAGE;
}

std::optional<std::string> first_bad_address(const std::vector<std::string>& addresses) {
  for (const auto& address : addresses) {
    if (auto problem = gpgseal::mailbox_problem(address)) {
      return "'" + address + "' is not a plain mailbox address: " + *problem;
    }
  }
  return std::nullopt;
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// --gnupghome, then $GNUPGHOME, then $HOME/.gnupg (Dovecot sets HOME, never GNUPGHOME).
std::string resolve_gnupg_home(const command_line& cl) {
  if (cl.gnupg_home) return *cl.gnupg_home;
  if (std::string env = env_or_empty("GNUPGHOME"); !env.empty()) return env;
  if (std::string home = env_or_empty("HOME"); !home.empty()) return home + "/.gnupg";
  return "";
}

gpgseal::filter_options filter_options_from(const command_line& cl) {
  gpgseal::filter_options options;
  options.addresses = cl.addresses;
  options.gnupg_home = resolve_gnupg_home(cl);
  std::string tmp = env_or_empty("TMPDIR");
  options.temp_dir = tmp.empty() ? "/tmp" : tmp;
  return options;
}

int run(const command_line& cl) {
  gpgseal::cli::message_log log(cl.log);
  try {
    auto outcome = gpgseal::run_filter(STDIN_FILENO, STDOUT_FILENO, filter_options_from(cl));
    log.outcome(outcome, cl.addresses);
    return gpgseal::cli::exit_status_for(outcome);
  } catch (const gpgseal::error& e) {
    log.failure(e.what());
    drain_stdin_unless_terminal();
    return gpgseal::cli::exit_status_for(e.kind());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must be an EPIPE error we report, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
  command_line cl;
  try {
    cl = parse(argc, argv);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (cl.help) {
    print_help(std::cout);
    return EX_OK;
  }
  if (cl.version) {
    std::cout << "gpgseal " << gpgseal::version_string << "\n";
    return EX_OK;
  }
  if (cl.addresses.empty()) return usage_error("no recipient ADDRESS given");
  if (auto problem = first_bad_address(cl.addresses)) return usage_error(*problem);
  return run(cl);
}
