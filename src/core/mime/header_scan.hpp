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

#include "core/base/fd_io.hpp"

namespace gpgseal {

struct byte_range {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  [[nodiscard]] std::uint64_t end() const noexcept { return offset + length; }
};

struct header_field {
  byte_range raw;            // the whole field: name, value, continuation lines, line end
  std::string name;          // lower-case, without trailing white space, at most
                             // max_kept_name bytes (see below)
  bool has_line_end = true;  // false only for a last line cut off by end of input
};

struct message_layout {
  std::optional<byte_range> mbox_from;  // a leading "From " envelope line, line end included
  std::vector<header_field> fields;
  std::uint64_t body_offset = 0;  // the blank separator line is not part of the body
  std::uint64_t size = 0;         // where the entity ends: the body is [body_offset, size)
  bool crlf = false;              // the first line ends with CRLF
  // The header block ended at an empty line (RFC 5322 §2.1), not at a line
  // that is no header field: parsers that read on to the next empty line
  // then agree with this split.
  bool blank_line_after_headers = false;
};

// Fields past this count are treated as body: a bound on memory for hostile
// input, and moving text into the encrypted part is always the safe direction.
inline constexpr std::size_t max_header_fields = 100000;

// Only this much of a field name is kept: every name the core looks for is
// shorter, and 100,000 names of 1 KiB each would cost 100 MiB.
inline constexpr std::size_t max_kept_name = 64;

// Scans `size` bytes of `fd` from offset 0 with pread. Throws error(io).
message_layout scan_message(int fd, std::uint64_t size);

// Scans a MIME body part (RFC 2046 §5.1) that occupies `range` of `fd`: its
// header block, then its body. There is no envelope line; offsets are offsets
// in `fd`. Throws error(io).
message_layout scan_part(int fd, byte_range range);

// One line of a spooled file, as spool_lines yields it.
struct spool_line {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;       // including the line end
  std::string prefix;             // at most line_prefix_limit leading bytes
  std::size_t line_end_size = 0;  // 0 (end of input), 1 (LF) or 2 (CRLF)
};

inline constexpr std::size_t line_prefix_limit = 1024;

// Yields the lines of [begin, end) of a spooled file one at a time through a
// fixed buffer, so a line of any length costs no more memory than its prefix.
class spool_lines {
 public:
  spool_lines(int fd, std::uint64_t begin, std::uint64_t end);
  // False at the end of the range. Throws error(io).
  bool next(spool_line& line);

 private:
  bool fill();

  int fd_;
  std::uint64_t end_offset_;
  io_buffer buffer_;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
  std::uint64_t position_;
  char last_byte_ = 0;
};

// True if a field of this (lower-case) name is a MIME Content-* field.
bool is_content_field(const std::string& lower_name);

// Longer MIME field values (Content-Type, Content-Transfer-Encoding) are not
// something a mail client writes; reading stops there.
inline constexpr std::size_t max_mime_field_value = std::size_t{64} * 1024;

// The fields of this (lower-case) name, in order.
std::vector<const header_field*> fields_named(const message_layout& layout, const char* name);

// Reads a field's value (after the colon) with folding line ends removed, up
// to `limit` bytes. Returns nullopt if the field is longer than that.
std::optional<std::string> read_field_value(int fd, const header_field& field, std::size_t limit);

}  // namespace gpgseal
