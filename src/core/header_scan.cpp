#include "core/header_scan.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "core/fd_io.hpp"

namespace gpgseal {

namespace {

constexpr std::size_t prefix_limit = 1024;

struct line_info {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;      // including the line end
  std::string prefix;            // at most prefix_limit leading bytes
  std::size_t line_end_size = 0; // 0 (end of input), 1 (LF) or 2 (CRLF)
};

// Yields the lines of a spooled file one at a time through a fixed buffer, so a
// line of any length costs no more memory than its prefix.
class line_reader {
 public:
  line_reader(int fd, std::uint64_t size) : fd_(fd), size_(size), buffer_(1 << 16) {}

  bool next(line_info& line) {
    if (position_ >= size_) return false;
    line = line_info{};
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

 private:
  bool fill() {
    std::uint64_t remaining = size_ - position_;
    std::size_t want = std::min<std::uint64_t>(buffer_.size(), remaining);
    if (want == 0) return false;
    std::size_t got = pread_full(fd_, buffer_.data(), want, position_);
    start_ = 0;
    end_ = got;
    return got > 0;
  }

  static void append_prefix(line_info& line, const char* data, std::size_t size) {
    if (line.prefix.size() >= prefix_limit) return;
    line.prefix.append(data, std::min(size, prefix_limit - line.prefix.size()));
  }

  int fd_;
  std::uint64_t size_;
  std::vector<char> buffer_;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
  std::uint64_t position_ = 0;
  char last_byte_ = 0;
};

bool is_blank_line(const line_info& line) {
  return line.line_end_size > 0 && line.length == line.line_end_size;
}

bool starts_with_wsp(const line_info& line) {
  return !line.prefix.empty() && (line.prefix[0] == ' ' || line.prefix[0] == '\t');
}

// RFC 5322 §3.6.8: field-name = 1*ftext (printable US-ASCII except colon); the
// obsolete syntax (§4.5) allows white space before the colon.
std::optional<std::string> field_name_of(const line_info& line) {
  const std::string& p = line.prefix;
  std::size_t i = 0;
  while (i < p.size() && p[i] >= 33 && p[i] <= 126 && p[i] != ':') ++i;
  if (i == 0) return std::nullopt;
  std::size_t name_end = i;
  while (i < p.size() && (p[i] == ' ' || p[i] == '\t')) ++i;
  if (i >= p.size() || p[i] != ':') return std::nullopt;
  std::string name = p.substr(0, name_end);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

void extend_field(header_field& field, const line_info& line) {
  field.raw.length += line.length;
  field.has_line_end = line.line_end_size > 0;
}

}  // namespace

message_layout scan_message(int fd, std::uint64_t size) {
  message_layout layout;
  layout.size = size;
  line_reader reader(fd, size);
  line_info line;
  bool first = true;
  while (reader.next(line)) {
    if (first) {
      layout.crlf = line.line_end_size == 2;
      first = false;
      if (line.prefix.compare(0, 5, "From ") == 0) {
        layout.mbox_from = byte_range{line.offset, line.length};
        layout.body_offset = line.offset + line.length;
        continue;
      }
    }
    if (is_blank_line(line)) {
      layout.body_offset = line.offset + line.length;
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
  layout.body_offset = size;
  return layout;
}

bool is_content_field(const std::string& lower_name) {
  return lower_name.compare(0, 8, "content-") == 0;
}

std::optional<std::string> read_field_value(int fd, const header_field& field,
                                            std::size_t limit) {
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
