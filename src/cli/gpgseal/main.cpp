// gpgseal: the mail filter. Message on stdin, recipient addresses as
// arguments, the message encrypted (or unchanged) on stdout.
//
// parse → validate → run the core filter → map the outcome to an exit status.
#include <syslog.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cli/common/exit_status.hpp"
#include "cli/common/explain.hpp"
#include "cli/common/log.hpp"
#include "cli/common/options.hpp"
#include "cli/common/signals.hpp"
#include "cli/common/syslog_client.hpp"
#include "cli/common/usage.hpp"
#include "core/filter.hpp"

namespace {

using namespace gpgseal::cli;

constexpr const char* program = "gpgseal";

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

command_line gpgseal_command_line() {
  command_line cl(program, keyring_options | domain_option | encryption_options | delivery_policy |
                               limit_options | logging_options | gpgit_options);
  cl.add_positional("address", -1);
  return cl;
}

void print_help(const command_line& cl) {
  std::cout << "Usage: gpgseal [OPTIONS] ADDRESS...\n"
               "Encrypt the message on standard input to the OpenPGP keys of ADDRESS... as\n"
               "PGP/MIME (RFC 3156) and write it to standard output. A message that is already\n"
               "encrypted, or for which an address has no usable key, is written unchanged.\n\n";
  cl.print_options(std::cout);
  std::cout << "\nA key is used for an address only if one of its valid user IDs has exactly\n"
               "that address and it has a usable encryption subkey. The keyring is --gnupghome,\n"
               "else ~/.gnupg from the password database with --home-from-passwd, else\n"
               "$GNUPGHOME, else $HOME/.gnupg. An ADDRESS without '@' (a Unix login, as\n"
               "Dovecot names system users) becomes ADDRESS@DOMAIN with --domain.\n\n"
               "Exit status: 0 the message was written, encrypted or unchanged; 75 a fail\n"
               "policy applied (nothing written; an MTA retries later); 65 empty input;\n"
               "64 usage error; 74 standard output cannot be written.\n";
}

int run(const shared_options& options, const gpgseal::seal_settings& settings) {
  message_log log(options.log, options.syslog_facility);
  auto report = [&](gpgseal::filter_outcome outcome) {
    outcome.detail = explain(outcome, options, settings);
    log.outcome(outcome, settings.addresses);
    return exit_status(ending_for(outcome));
  };
  // A run stuck past its deadline: report and leave before Dovecot kills us,
  // which would lose the message.
  auto on_abandoned = [&](const gpgseal::filter_outcome& outcome) { std::_Exit(report(outcome)); };
  try {
    return report(gpgseal::run_filter(STDIN_FILENO, STDOUT_FILENO, settings, policy_for(options),
                                      on_abandoned));
  } catch (const gpgseal::error& e) {
    log.failure(explain(e, settings));
    drain_stdin_unless_terminal();
    return exit_status(ending_for(e.kind()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must be an EPIPE error we report, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
  report_termination_signals(program);
  command_line cl = gpgseal_command_line();
  shared_options options;
  gpgseal::seal_settings settings;
  try {
    po::variables_map vm;
    options = cl.parse(argc, argv, vm);
    if (!options.help && !options.version) {
      settings = settings_for(options, recipient_addresses(vm, "address", options.domain));
    }
  } catch (const usage_error& e) {
    drain_stdin_unless_terminal();
    // Under Dovecot a usage error means a message stored in clear (flagged
    // by the shipped scripts): say so where admins look, not only on stderr.
    if (!::isatty(STDIN_FILENO)) {
      syslog_client("gpgseal", LOG_MAIL).send(LOG_ERR, std::string("usage error: ") + e.what());
    }
    return report_usage_error(program, e.what());
  }
  if (auto status = answer_help_or_version(cl, options, print_help)) return *status;
  return run(options, settings);
}
