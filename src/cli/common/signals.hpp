// What a front-end does when SIGTERM, SIGINT or SIGHUP arrives mid-message:
// say why in one line, then die by the same signal, so that the caller
// (Dovecot, an MTA) still sees a filter killed by it and keeps the original.
#pragma once

namespace gpgseal::cli {

// Installs the handlers; `program` names the line ("gpgseal: stopped by
// SIGTERM; any output is incomplete"). Call once, early in main.
void report_termination_signals(const char* program);

}  // namespace gpgseal::cli
