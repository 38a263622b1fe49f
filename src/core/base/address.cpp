#include "core/base/address.hpp"

#include <algorithm>

namespace gpgseal {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// RFC 5322 §3.2.3 atext plus '.', and any 8-bit byte (RFC 6532 allows UTF-8).
bool is_mailbox_char(unsigned char c) {
  if (c >= 0x80) return true;
  if (c <= 0x20 || c == 0x7f) return false;
  static constexpr std::string_view specials = "()<>[]:;@\\,\"";
  return specials.find(static_cast<char>(c)) == std::string_view::npos;
}

unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

}  // namespace

std::optional<std::string> mailbox_problem(std::string_view address) {
  if (address.empty()) return "it is empty";
  for (std::string_view prefix : {"-", "<", "@", "=", "*", "0x", "0X"}) {
    if (starts_with(address, prefix)) return "it starts with '" + std::string(prefix) + "'";
  }
  std::size_t at = address.find('@');
  if (at == std::string_view::npos) return "it has no '@'";
  if (address.find('@', at + 1) != std::string_view::npos) return "it has more than one '@'";
  std::string_view local = address.substr(0, at);
  std::string_view domain = address.substr(at + 1);
  if (domain.empty()) return "its domain is empty";
  auto bad = [](std::string_view part) {
    return std::find_if_not(part.begin(), part.end(), [](char c) {
             return is_mailbox_char(static_cast<unsigned char>(c));
           }) != part.end();
  };
  if (bad(local) || bad(domain)) {
    return "it contains white space, a control character or a special character";
  }
  return std::nullopt;
}

bool same_mailbox(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(static_cast<unsigned char>(x)) == lower(static_cast<unsigned char>(y));
         });
}

std::string bracketed_addresses(const std::vector<std::string>& addresses) {
  std::string text;
  for (const auto& a : addresses) text += (text.empty() ? "<" : ", <") + a + ">";
  return text;
}

}  // namespace gpgseal
