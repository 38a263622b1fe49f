#include "core/mime/armor_scan.hpp"

#include <algorithm>

namespace gpgseal {

namespace {

// RFC 4880 §6.3 limits armor lines to 76 characters; allow slack for
// generous writers but do not let one line grow without bound.
constexpr std::size_t max_line = 1024;
constexpr std::string_view begin_line = "-----BEGIN PGP MESSAGE-----";
constexpr std::string_view end_line = "-----END PGP MESSAGE-----";

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_radix64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}

int radix64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 4880 §6.2: "Key: Value" armor headers.
bool is_armor_header(std::string_view line) {
  std::size_t colon = line.find(": ");
  return colon != std::string_view::npos && colon > 0;
}

}  // namespace

bool opens_encrypted_message(unsigned char byte) noexcept {
  if ((byte & 0x80) == 0) return false;
  // RFC 4880 §4.2: new-format tags are the low six bits, old-format tags bits 5..2.
  unsigned tag = (byte & 0x40) ? (byte & 0x3f) : ((byte >> 2) & 0x0f);
  return tag == 1 || tag == 3;
}

void armor_scanner::feed(const char* data, std::size_t size) {
  const char* p = data;
  const char* end = data + size;
  while (p < end && state_ != state::rejected) {
    const char* nl = std::find(p, end, '\n');
    line_.append(p, nl);
    if (line_.size() > max_line) {
      state_ = state::rejected;
      return;
    }
    if (nl == end) return;
    take_line(line_);
    line_.clear();
    p = nl + 1;
  }
}

bool armor_scanner::finish() {
  if (!line_.empty() && state_ != state::rejected) take_line(line_);
  line_.clear();
  return state_ == state::after;
}

void armor_scanner::take_line(std::string_view raw) {
  std::string_view line = trim_right(raw);
  switch (state_) {
    case state::before:
      if (line.empty()) return;
      state_ = line == begin_line ? state::armor_headers : state::rejected;
      return;
    case state::armor_headers:
      if (line.empty()) {
        state_ = state::radix64;
      } else if (!is_armor_header(line)) {
        state_ = state::rejected;
      }
      return;
    case state::radix64:
      take_radix64_line(line);
      return;
    case state::after:
      if (!line.empty()) state_ = state::rejected;
      return;
    case state::rejected:
      return;
  }
}

void armor_scanner::take_radix64_line(std::string_view line) {
  if (line == end_line) {
    if (!saw_radix64_) {
      state_ = state::rejected;
      return;
    }
    check_first_packet();
    if (state_ != state::rejected) state_ = state::after;
    return;
  }
  if (line.empty() || !std::all_of(line.begin(), line.end(), is_radix64_char)) {
    state_ = state::rejected;
    return;
  }
  if (!saw_radix64_) first_radix64_ = std::string(line);
  saw_radix64_ = true;
}

void armor_scanner::check_first_packet() {
  if (first_radix64_.size() < 2) {
    state_ = state::rejected;
    return;
  }
  int a = radix64_value(first_radix64_[0]);
  int b = radix64_value(first_radix64_[1]);
  if (a < 0 || b < 0) {
    state_ = state::rejected;
    return;
  }
  auto first_byte = static_cast<unsigned char>((a << 2) | (b >> 4));
  if (!opens_encrypted_message(first_byte)) state_ = state::rejected;
}

}  // namespace gpgseal
