#include "core/maildir/name.hpp"

#include <charconv>

namespace gpgseal {

namespace {

constexpr std::string_view temp_marker = ".gpgseal.";

template <typename Integer>
bool parse_integer(std::string_view text, Integer& value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  if (!parse_integer(text, value)) return std::nullopt;
  return value;
}

// Reads the digits after `prefix` at the front of `text` and advances past them.
template <typename Integer>
bool take_number(std::string_view& text, std::string_view prefix, Integer& value) {
  if (text.substr(0, prefix.size()) != prefix) return false;
  text.remove_prefix(prefix.size());
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (!parse_integer(text.substr(0, digits), value)) return false;
  text.remove_prefix(digits);
  return true;
}

}  // namespace

std::string maildir_name::key() const {
  std::string key = base + extra;
  if (size) key += ",S=" + std::to_string(*size);
  if (virtual_size) key += ",W=" + std::to_string(*virtual_size);
  return key;
}

std::string maildir_name::flags() const {
  if (info.rfind(":2,", 0) != 0) return "";
  return info.substr(3);
}

std::string_view maildir_key(std::string_view file_name) noexcept {
  return file_name.substr(0, file_name.find(':'));
}

maildir_name parse_maildir_name(std::string_view file_name) {
  maildir_name name;
  std::string_view key = maildir_key(file_name);
  name.info = std::string(file_name.substr(key.size()));
  std::size_t comma = key.find(',');
  name.base = std::string(key.substr(0, comma));
  while (comma != std::string_view::npos) {
    std::size_t next = key.find(',', comma + 1);
    std::string_view field = key.substr(
        comma + 1, next == std::string_view::npos ? std::string_view::npos : next - comma - 1);
    // A malformed S= or W= is dropped too: Dovecot would read the first one.
    if (field.substr(0, 2) == "S=") {
      name.size = number(field.substr(2));
    } else if (field.substr(0, 2) == "W=") {
      name.virtual_size = number(field.substr(2));
    } else {
      name.extra += ',';
      name.extra += field;
    }
    comma = next;
  }
  return name;
}

maildir_name with_sizes(maildir_name name, std::uint64_t size, std::uint64_t virtual_size) {
  name.size = size;
  name.virtual_size = virtual_size;
  return name;
}

void bare_lf_counter::add(const char* data, std::size_t size) noexcept {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\n' && !last_was_cr_) ++count_;
    last_was_cr_ = data[i] == '\r';
  }
}

std::string escape_host(std::string_view host) {
  std::string escaped;
  for (char c : host) {
    if (c == '/') {
      escaped += "\\057";
    } else if (c == ':') {
      escaped += "\\072";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string temp_file_name(std::int64_t seconds, long microseconds, long pid, std::uint64_t counter,
                           std::string_view host) {
  return std::to_string(seconds) + ".M" + std::to_string(microseconds) + "P" + std::to_string(pid) +
         "Q" + std::to_string(counter) + std::string(temp_marker) + std::string(host);
}

std::optional<temp_file_origin> parse_temp_file_name(std::string_view name) {
  temp_file_origin origin;
  long microseconds = 0;
  std::uint64_t counter = 0;
  std::size_t dot = name.find('.');
  if (dot == std::string_view::npos || !parse_integer(name.substr(0, dot), origin.seconds)) {
    return std::nullopt;
  }
  std::string_view rest = name.substr(dot + 1);
  if (!take_number(rest, "M", microseconds) || !take_number(rest, "P", origin.pid) ||
      !take_number(rest, "Q", counter) || rest.substr(0, temp_marker.size()) != temp_marker) {
    return std::nullopt;
  }
  origin.host = std::string(rest.substr(temp_marker.size()));
  if (origin.host.empty()) return std::nullopt;
  return origin;
}

}  // namespace gpgseal
