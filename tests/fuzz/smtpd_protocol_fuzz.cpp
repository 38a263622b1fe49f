// Fuzz target: gpgseal-smtpd's protocol parser and session table
// (src/cli/smtpd). The input is a stream of protocol lines, as smtpd would
// send them. Invariants: nothing throws or crashes; every parsed field is a
// view into the line; a session that was reset or disconnected holds no
// spool; the "." line hands over exactly what was spooled for the session.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/smtpd/protocol.hpp"
#include "cli/smtpd/sessions.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

using namespace gpgseal::smtpd;

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void feed(session_table& table, std::string_view line) {
  protocol_line p = parse_line(line);
  for (auto f : {p.key, p.value, p.version, p.subsystem, p.name, p.session, p.token, p.rest}) {
    gpgseal::fuzz::require(inside(f, line), "a field outside its line");
  }
  if (p.type == line_type::report) {
    std::string_view rest = p.rest;
    if (p.name == "tx-rcpt") {
      next_field(rest);
      if (next_field(rest) == "ok") table.add_recipient(p.session, rest);
    } else if (p.name == "tx-reset" || p.name == "link-disconnect") {
      if (p.name == "tx-reset") {
        table.reset(p.session);
      } else {
        table.disconnect(p.session);
      }
      gpgseal::fuzz::require(!table.spooling(p.session), "a spool kept after a reset");
    } else if (p.name == "tx-begin") {
      table.begin(p.session);
    }
  } else if (p.type == line_type::filter && p.name == "data-line") {
    auto done = table.data_line(p.session, p.token, p.rest);
    if (done) {
      gpgseal::fuzz::require(done->session == p.session, "a message of another session");
      gpgseal::fuzz::require(done->spool_failed || done->spool.fd() >= 0, "a lost spool");
    }
  } else if (p.type == line_type::malformed) {
    gpgseal::fuzz::require(!p.why.empty(), "malformed without a reason");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  session_table table("/tmp");
  while (!input.empty()) {
    auto nl = input.find('\n');
    feed(table, input.substr(0, nl));
    input = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
  }
  return 0;
}
