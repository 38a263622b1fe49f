#include "core/mime/mime_parts.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "core/base/gobject_ptr.hpp"

namespace gpgseal {

using detail::gobject_ptr;

// RFC 2046 §5.1.1: the body parts between delimiter lines "--boundary" and the
// close delimiter "--boundary--", each allowed trailing white space. The CRLF
// before a delimiter line belongs to the delimiter. Returns nullopt unless the
// body has exactly that shape: a line that starts with the delimiter but says
// something else, text after the close, or no close at all leave the structure
// ambiguous, and an ambiguous label must not keep a message in clear.
// Streaming line by line keeps memory flat whatever the parts contain, which
// GMime's parser, building the whole MIME tree, does not.
std::optional<std::vector<byte_range>> split_parts(int spool_fd, const message_layout& layout,
                                                   const std::string& boundary) {
  const std::string delimiter = "--" + boundary;
  spool_lines lines(spool_fd, layout.body_offset, layout.size);
  std::vector<byte_range> parts;
  std::optional<std::uint64_t> part_start;
  bool closed = false;
  std::size_t previous_line_end = 0;
  for (spool_line line; lines.next(line); previous_line_end = line.line_end_size) {
    std::uint64_t text_length = line.length - line.line_end_size;
    // Text after the close is stored but shown by no reader: only white space.
    if (closed && (text_length > line.prefix.size() ||
                   line.prefix.find_first_not_of(" \t\r\n") != std::string::npos)) {
      return std::nullopt;
    }
    if (line.prefix.compare(0, delimiter.size(), delimiter) != 0) continue;
    // A boundary holding a line end, or a delimiter line past the prefix:
    // the split is not unambiguous.
    if (text_length < delimiter.size() || text_length > line.prefix.size()) return std::nullopt;
    std::string_view rest(line.prefix.data() + delimiter.size(), text_length - delimiter.size());
    bool close = rest.substr(0, 2) == "--";
    if (close) rest.remove_prefix(2);
    if (rest.find_first_not_of(" \t") != std::string_view::npos) return std::nullopt;
    if (part_start) {
      std::uint64_t end = std::max(*part_start, line.offset - previous_line_end);
      parts.push_back(byte_range{*part_start, end - *part_start});
    }
    part_start = line.offset + line.length;
    closed = close;
  }
  if (!closed) return std::nullopt;
  return parts;
}

// A body part with exactly one Content-Type field, of this type.
bool has_single_type(int spool_fd, const message_layout& part, const char* type,
                     const char* subtype) {
  auto fields = fields_named(part, "content-type");
  if (fields.size() != 1) return false;
  auto value = read_field_value(spool_fd, *fields.front(), max_mime_field_value);
  if (!value) return false;
  auto parsed =
      gobject_ptr<GMimeContentType>::adopt(g_mime_content_type_parse(nullptr, value->c_str()));
  return parsed && g_mime_content_type_is_type(parsed.get(), type, subtype);
}

std::optional<std::vector<byte_range>> parts_of(int spool_fd, const message_layout& layout,
                                                GMimeContentType* type) {
  const char* boundary = g_mime_content_type_get_parameter(type, "boundary");
  // RFC 2046 §5.1.1: 1 to 70 characters.
  if (!boundary || *boundary == '\0' || std::strlen(boundary) > 70) return std::nullopt;
  return split_parts(spool_fd, layout, boundary);
}

}  // namespace gpgseal
