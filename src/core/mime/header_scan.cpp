#include "core/mime/header_scan.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "core/base/fd_io.hpp"

namespace gpgseal {

namespace {

void append_prefix(spool_line& line, const char* data, std::size_t size) {
  if (line.prefix.size() >= line_prefix_limit) return;
  line.prefix.append(data, std::min(size, line_prefix_limit - line.prefix.size()));
}

bool is_blank_line(const spool_line& line) {
  return line.line_end_size > 0 && line.length == line.line_end_size;
}

bool starts_with_wsp(const spool_line& line) {
  return !line.prefix.empty() && (line.prefix[0] == ' ' || line.prefix[0] == '\t');
}

// RFC 5322 §3.6.8: field-name = 1*ftext (printable US-ASCII except colon); the
// obsolete syntax (§4.5) allows white space before the colon.
std::optional<std::string> field_name_of(const spool_line& line) {
  const std::string& p = line.prefix;
  std::size_t i = 0;
  while (i < p.size() && p[i] >= 33 && p[i] <= 126 && p[i] != ':') ++i;
  if (i == 0) return std::nullopt;
  std::size_t name_end = i;
  while (i < p.size() && (p[i] == ' ' || p[i] == '\t')) ++i;
  if (i >= p.size() || p[i] != ':') return std::nullopt;
  std::string name = p.substr(0, std::min(name_end, max_kept_name));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

void extend_field(header_field& field, const spool_line& line) {
  field.raw.length += line.length;
  field.has_line_end = line.line_end_size > 0;
}

// RFC 5322 §2.2 for a message (which may open with an mbox envelope line),
// RFC 2045 §3 for a body part: the same header syntax.
message_layout scan_headers(int fd, byte_range range, bool envelope_allowed) {
  message_layout layout;
  layout.size = range.end();
  layout.body_offset = range.offset;
  spool_lines reader(fd, range.offset, range.end());
  spool_line line;
  bool first = true;
  while (reader.next(line)) {
    if (first) {
      layout.crlf = line.line_end_size == 2;
      first = false;
      if (envelope_allowed && line.prefix.compare(0, 5, "From ") == 0) {
        layout.mbox_from = byte_range{line.offset, line.length};
        layout.body_offset = line.offset + line.length;
        continue;
      }
    }
    if (is_blank_line(line)) {
      layout.body_offset = line.offset + line.length;
      layout.blank_line_after_headers = true;
      return layout;
    }
    if (starts_with_wsp(line) && !layout.fields.empty()) {
      extend_field(layout.fields.back(), line);
      layout.body_offset = line.offset + line.length;
      continue;
    }
    auto name = field_name_of(line);
    if (!name || layout.fields.size() >= max_header_fields) {
      layout.body_offset = line.offset;
      return layout;
    }
    header_field field{byte_range{line.offset, line.length}, std::move(*name),
                       line.line_end_size > 0};
    layout.fields.push_back(std::move(field));
    layout.body_offset = line.offset + line.length;
  }
  layout.body_offset = range.end();
  return layout;
}

}  // namespace

spool_lines::spool_lines(int fd, std::uint64_t begin, std::uint64_t end)
    : fd_(fd), end_offset_(end), buffer_(1 << 16), position_(begin) {}

bool spool_lines::next(spool_line& line) {
  if (position_ >= end_offset_) return false;
  line = spool_line{};
  line.offset = position_;
  for (;;) {
    if (start_ == end_ && !fill()) break;
    const char* begin = buffer_.data() + start_;
    const void* nl = std::memchr(begin, '\n', end_ - start_);
    std::size_t take = nl ? static_cast<const char*>(nl) - begin + 1 : end_ - start_;
    // The byte before the LF may sit in the previous chunk.
    char before_lf = take >= 2 ? begin[take - 2] : (line.length > 0 ? last_byte_ : '\0');
    append_prefix(line, begin, take);
    last_byte_ = begin[take - 1];
    line.length += take;
    start_ += take;
    position_ += take;
    if (nl) {
      line.line_end_size = before_lf == '\r' ? 2 : 1;
      break;
    }
  }
  return true;
}

bool spool_lines::fill() {
  std::uint64_t remaining = end_offset_ - position_;
  std::size_t want = std::min<std::uint64_t>(buffer_.size(), remaining);
  if (want == 0) return false;
  std::size_t got = pread_full(fd_, buffer_.data(), want, position_);
  start_ = 0;
  end_ = got;
  return got > 0;
}

message_layout scan_message(int fd, std::uint64_t size) {
  return scan_headers(fd, byte_range{0, size}, true);
}

message_layout scan_part(int fd, byte_range range) { return scan_headers(fd, range, false); }

std::vector<const header_field*> fields_named(const message_layout& layout, const char* name) {
  std::vector<const header_field*> found;
  for (const auto& field : layout.fields) {
    if (field.name == name) found.push_back(&field);
  }
  return found;
}

bool is_content_field(const std::string& lower_name) {
  return lower_name.compare(0, 8, "content-") == 0;
}

std::optional<std::string> read_field_value(int fd, const header_field& field, std::size_t limit) {
  if (field.raw.length > limit) return std::nullopt;
  std::string raw(static_cast<std::size_t>(field.raw.length), '\0');
  raw.resize(pread_full(fd, raw.data(), raw.size(), field.raw.offset));
  std::size_t colon = raw.find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string value;
  value.reserve(raw.size() - colon);
  for (std::size_t i = colon + 1; i < raw.size(); ++i) {
    if (raw[i] != '\r' && raw[i] != '\n') value.push_back(raw[i]);
  }
  return value;
}

}  // namespace gpgseal
