// gpgseal: the mail filter. Message on stdin, recipient addresses as
// arguments, the message encrypted (or unchanged) on stdout.
//
// parse → validate → run the core filter → map the outcome to an exit status.
#include <sysexits.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cli/exit_status.hpp"
#include "cli/gpgseal_options.hpp"
#include "cli/log.hpp"
#include "core/filter.hpp"
#include "core/spool.hpp"
#include "gpgseal/version.hpp"

namespace {

// Says why in one line, then dies by the same signal, so that the caller
// (Dovecot, an MTA) still sees a filter killed by it and keeps the original.
// Only async-signal-safe calls here.
extern "C" void report_and_die(int signal_number) {
  const char* text =
      signal_number == SIGTERM  ? "gpgseal: stopped by SIGTERM; any output is incomplete\n"
      : signal_number == SIGINT ? "gpgseal: stopped by SIGINT; any output is incomplete\n"
                                : "gpgseal: stopped by SIGHUP; any output is incomplete\n";
  std::size_t length = 0;
  while (text[length] != '\0') ++length;
  if (::write(STDERR_FILENO, text, length) < 0) {
    // Nothing more can be said.
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

void report_termination_signals() {
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP}) std::signal(signal_number, report_and_die);
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

int run(const gpgseal::cli::gpgseal_command& command) {
  gpgseal::cli::message_log log(command.log, command.syslog_facility);
  gpgseal::filter_options options = gpgseal::cli::filter_options_for(command);
  // A run stuck past its deadline: report and leave before Dovecot kills us,
  // which would lose the message.
  options.on_abandoned = [&](const gpgseal::filter_outcome& outcome) {
    log.outcome(outcome, command.addresses);
    std::_Exit(gpgseal::cli::exit_status_for(outcome));
  };
  try {
    auto outcome = gpgseal::run_filter(STDIN_FILENO, STDOUT_FILENO, options);
    log.outcome(outcome, command.addresses);
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
  report_termination_signals();
  gpgseal::cli::gpgseal_command command;
  try {
    command = gpgseal::cli::parse_gpgseal_command(argc, argv);
  } catch (const gpgseal::error& e) {
    return usage_error(e.what());
  }
  if (command.help) {
    gpgseal::cli::print_gpgseal_help(std::cout);
    return EX_OK;
  }
  if (command.version) {
    std::cout << "gpgseal " << gpgseal::version_string << "\n";
    return EX_OK;
  }
  return run(command);
}
