// Splits a spooled message into its mbox envelope line, its header fields and
// its body, as byte ranges of the spool, so that fields can be copied out byte
// for byte (folding included) and the body never has to be loaded.
//
// The header block ends at the first empty line, or at the first line that is
// neither a header field (RFC 5322 §2.2: ftext name, optional WSP, colon) nor a
// folded continuation of one. Such a line belongs to the body, so that no text
// of a malformed message is mistaken for a header and left in clear.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpgseal {

struct byte_range {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  [[nodiscard]] std::uint64_t end() const noexcept { return offset + length; }
};

struct header_field {
  byte_range raw;      // the whole field: name, value, continuation lines, line end
  std::string name;    // lower-case, without trailing white space
  bool has_line_end = true;  // false only for a last line cut off by end of input
};

struct message_layout {
  std::optional<byte_range> mbox_from;  // a leading "From " envelope line, line end included
  std::vector<header_field> fields;
  std::uint64_t body_offset = 0;        // the blank separator line is not part of the body
  std::uint64_t size = 0;
  bool crlf = false;                    // the first line ends with CRLF
};

// Fields past this count are treated as body: a bound on memory for hostile
// input, and moving text into the encrypted part is always the safe direction.
inline constexpr std::size_t max_header_fields = 100000;

// Scans `size` bytes of `fd` from offset 0 with pread. Throws error(io).
message_layout scan_message(int fd, std::uint64_t size);

// True if a field of this (lower-case) name is a MIME Content-* field.
bool is_content_field(const std::string& lower_name);

// Reads a field's value (after the colon) with folding line ends removed, up
// to `limit` bytes. Returns nullopt if the field is longer than that.
std::optional<std::string> read_field_value(int fd, const header_field& field,
                                            std::size_t limit);

}  // namespace gpgseal
