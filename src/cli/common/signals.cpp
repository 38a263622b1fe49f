#include "cli/common/signals.hpp"

#include <unistd.h>

#include <csignal>
#include <cstring>
#include <initializer_list>

namespace gpgseal::cli {

namespace {

// The handler may only make async-signal-safe calls: the program's name is
// copied here beforehand.
char program_name[64] = "gpgseal";

void write_text(const char* text) {
  if (::write(STDERR_FILENO, text, std::strlen(text)) < 0) {
    // Nothing more can be said.
  }
}

extern "C" void report_and_die(int signal_number) {
  write_text(program_name);
  write_text(signal_number == SIGTERM  ? ": stopped by SIGTERM; any output is incomplete\n"
             : signal_number == SIGINT ? ": stopped by SIGINT; any output is incomplete\n"
                                       : ": stopped by SIGHUP; any output is incomplete\n");
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

}  // namespace

void report_termination_signals(const char* program) {
  std::strncpy(program_name, program, sizeof program_name - 1);
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP}) std::signal(signal_number, report_and_die);
}

}  // namespace gpgseal::cli
