#include "cli/smtpd/protocol.hpp"

#include <algorithm>
#include <cctype>

namespace gpgseal::smtpd {

namespace {

bool is_hex_id(std::string_view s) {
  return !s.empty() && s.size() <= 32 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

protocol_line malformed(std::string_view why) {
  protocol_line line;
  line.why = why;
  return line;
}

// report|… and filter|… share VERSION|TIME|SUBSYSTEM|NAME|SESSION.
bool parse_common(std::string_view& rest, protocol_line& out) {
  out.version = next_field(rest);
  std::string_view time = next_field(rest);
  out.subsystem = next_field(rest);
  out.name = next_field(rest);
  out.session = next_field(rest);
  if (out.version.empty() || time.empty() || out.subsystem.empty() || out.name.empty()) {
    out.why = "missing fields";
    return false;
  }
  if (!is_hex_id(out.session)) {
    out.why = "the session id is not hexadecimal";
    return false;
  }
  return true;
}

}  // namespace

std::string_view next_field(std::string_view& rest) {
  auto bar = rest.find('|');
  std::string_view field = rest.substr(0, bar);
  rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
  return field;
}

protocol_line parse_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view rest = line;
  std::string_view kind = next_field(rest);
  protocol_line out;
  if (kind == "config") {
    out.key = next_field(rest);
    out.value = rest;
    if (out.key.empty()) return malformed("config without a key");
    out.type = line_type::config;
    return out;
  }
  if (kind != "report" && kind != "filter") return malformed("unknown line type");
  if (line.find('|') == std::string_view::npos) return malformed("no fields");
  if (!parse_common(rest, out)) {
    out.type = line_type::malformed;
    return out;
  }
  if (kind == "filter") {
    // Split at most 7 times: a data line may contain '|'.
    auto bar = rest.find('|');
    out.token = rest.substr(0, bar);
    if (bar == std::string_view::npos || !is_hex_id(out.token)) {
      return malformed("a filter request without a token");
    }
    out.rest = rest.substr(bar + 1);
    out.type = line_type::filter;
    return out;
  }
  out.rest = rest;
  out.type = line_type::report;
  return out;
}

std::string result_line(std::string_view session, std::string_view token, std::string_view result) {
  std::string s = "filter-result|";
  s.append(session).append("|").append(token).append("|").append(result).append("\n");
  return s;
}

std::string dataline_line(std::string_view session, std::string_view token, std::string_view line) {
  std::string s = "filter-dataline|";
  s.reserve(s.size() + session.size() + token.size() + line.size() + 3);
  s.append(session).append("|").append(token).append("|").append(line).append("\n");
  return s;
}

}  // namespace gpgseal::smtpd
