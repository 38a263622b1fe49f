// OpenSMTPD's filter protocol (smtpd-filters(7)), as Debian 12's smtpd 6.8.0p2
// speaks it (version 0.6, tests/e2e/mta/OPENSMTPD-PROTOCOL.md): one line in,
// one parsed record out, and the lines the filter answers with. Pure: no I/O,
// no state. A line that is not what the protocol says is `malformed`, with
// the reason, never an exception: the filter logs it and goes on, because
// smtpd exits when its filter does.
#pragma once

#include <string>
#include <string_view>

namespace gpgseal::smtpd {

enum class line_type {
  config,     // config|KEY|VALUE, config|ready
  report,     // report|VERSION|TIME|SUBSYSTEM|EVENT|SESSION|FIELDS...
  filter,     // filter|VERSION|TIME|SUBSYSTEM|PHASE|SESSION|TOKEN|PARAMETERS
  malformed,  // anything else
};

// Views into the line that was parsed; valid while it lives.
struct protocol_line {
  line_type type = line_type::malformed;
  std::string_view why;  // malformed: what is wrong
  // config: `key` and `value` ("ready" has no value)
  std::string_view key;
  std::string_view value;
  // report and filter
  std::string_view version;
  std::string_view subsystem;
  std::string_view name;     // the report event or the filter phase
  std::string_view session;  // 16 hex digits
  std::string_view token;    // filter only
  // report: the fields after SESSION, unsplit; filter: the parameters after
  // TOKEN, which may contain '|' (a data line is taken as it is).
  std::string_view rest;
};

protocol_line parse_line(std::string_view line);

// The next '|'-separated field of `rest`, removed from it. The last field
// takes all that is left.
std::string_view next_field(std::string_view& rest);

// The version of the protocol this filter speaks.
inline constexpr std::string_view protocol_version = "0.6";

// Answers; each is a whole line with its '\n'.
std::string result_line(std::string_view session, std::string_view token,
                        std::string_view result);  // proceed, reject|451 ...
std::string dataline_line(std::string_view session, std::string_view token,
                          std::string_view line);  // `line` already dot-stuffed

}  // namespace gpgseal::smtpd
