#include "core/mime/detect.hpp"

#include <gmime/gmime.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/gobject_ptr.hpp"
#include "core/error.hpp"
#include "core/mime/armor_scan.hpp"
#include "core/mime/mime_tree.hpp"

namespace gpgseal {

using detail::gobject_ptr;

namespace {

// Feeds the decoded content of `raw` to an armor scanner, stopping early once
// the answer is no.
bool is_one_armored_message(GMimeStream* raw, GMimeContentEncoding encoding) {
  auto filtered = decoded_stream(raw, encoding);
  armor_scanner scanner;
  std::array<char, 65536> buffer{};
  for (;;) {
    ssize_t n = g_mime_stream_read(filtered.get(), buffer.data(), buffer.size());
    if (n < 0) throw error(error_kind::io, "cannot read the spooled message body");
    if (n == 0) break;
    scanner.feed(buffer.data(), static_cast<std::size_t>(n));
    if (scanner.rejected()) return false;
  }
  return scanner.finish();
}

bool has_param(GMimeContentType* type, const char* name,
               std::initializer_list<const char*> values) {
  const char* value = g_mime_content_type_get_parameter(type, name);
  if (!value) return false;
  for (const char* v : values) {
    if (g_ascii_strcasecmp(value, v) == 0) return true;
  }
  return false;
}

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

// The decoded body of a part if it is at most `limit` bytes long.
std::optional<std::string> short_decoded_body(int spool_fd, const message_layout& part,
                                              std::size_t limit) {
  auto encoding = single_transfer_encoding(spool_fd, part);
  if (!encoding) return std::nullopt;
  auto raw = open_spool_range(spool_fd, part.body_offset, part.size);
  auto decoded = decoded_stream(raw.get(), *encoding);
  std::string text;
  std::array<char, 1024> buffer{};
  for (ssize_t n; (n = g_mime_stream_read(decoded.get(), buffer.data(), buffer.size())) > 0;) {
    text.append(buffer.data(), static_cast<std::size_t>(n));
    if (text.size() > limit) return std::nullopt;
  }
  return text;
}

std::string trimmed(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

// The two parts of RFC 3156 §4: application/pgp-encrypted, then an
// application/octet-stream that holds the armored message. With
// `version_text`, the first part must also say "Version: 1" and no more.
bool is_version_and_ciphertext(int spool_fd, const byte_range& first, const byte_range& second,
                               bool version_text) {
  message_layout version = scan_part(spool_fd, first);
  message_layout payload = scan_part(spool_fd, second);
  // Without the empty line after its headers a part is read differently by
  // different parsers (a reader may take the armor's first line for a
  // header): an ambiguous part is no proof of ciphertext.
  if (!version.blank_line_after_headers || !payload.blank_line_after_headers) return false;
  if (!has_single_type(spool_fd, version, "application", "pgp-encrypted") ||
      !has_single_type(spool_fd, payload, "application", "octet-stream")) {
    return false;
  }
  if (version_text) {
    auto text = short_decoded_body(spool_fd, version, 256);
    if (!text || trimmed(*text) != "Version: 1") return false;
  }
  auto encoding = single_transfer_encoding(spool_fd, payload);
  if (!encoding) return false;
  auto body = open_spool_range(spool_fd, payload.body_offset, payload.size);
  return is_one_armored_message(body.get(), *encoding);
}

bool is_well_formed_pgp_mime(int spool_fd, const message_layout& layout, GMimeContentType* type) {
  auto parts = parts_of(spool_fd, layout, type);
  return parts && parts->size() == 2 &&
         is_version_and_ciphertext(spool_fd, (*parts)[0], (*parts)[1], false);
}

// A part with nothing to read: text (or untyped) whose body is white space.
bool is_blank_text_part(int spool_fd, const byte_range& range) {
  message_layout part = scan_part(spool_fd, range);
  if (!part.blank_line_after_headers) return false;
  if (!fields_named(part, "content-type").empty() &&
      !has_single_type(spool_fd, part, "text", "plain")) {
    return false;
  }
  auto text = short_decoded_body(spool_fd, part, 4096);
  return text && trimmed(*text).empty();
}

// Microsoft Exchange rewrites RFC 3156 mail as multipart/mixed: an optional
// empty text/plain part, the version part, the armored octet-stream part
// (gpgit's --skip-ms-bug). Nothing but white space and "Version: 1" stands
// in clear, so leaving it alone exposes nothing, and encrypting it again
// would make the reader decrypt twice.
bool is_exchange_mixed_up(int spool_fd, const message_layout& layout, GMimeContentType* type) {
  auto parts = parts_of(spool_fd, layout, type);
  if (!parts || (parts->size() != 2 && parts->size() != 3)) return false;
  std::size_t first = parts->size() - 2;
  if (first == 1 && !is_blank_text_part(spool_fd, (*parts)[0])) return false;
  return is_version_and_ciphertext(spool_fd, (*parts)[first], (*parts)[first + 1], true);
}

bool is_base64_text(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return g_ascii_isalnum(c) || c == '+' || c == '/' || c == '='; });
}

// RFC 5652 §3 ContentInfo: a DER SEQUENCE (any length form) whose first
// element is the contentType OID: id-envelopedData (RFC 5652 §6) or
// id-ct-authEnvelopedData (RFC 5083).
bool opens_enveloped_content_info(const std::string& der) {
  static const std::string enveloped("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03", 11);
  static const std::string auth_enveloped("\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x17",
                                          13);
  if (der.size() < 2 || der[0] != '\x30') return false;
  auto length_byte = static_cast<unsigned char>(der[1]);
  std::size_t at = length_byte <= 0x80 ? 2 : 2 + (length_byte & 0x7f);
  if (length_byte > 0x84) return false;
  return der.compare(at, enveloped.size(), enveloped) == 0 ||
         der.compare(at, auth_enveloped.size(), auth_enveloped) == 0;
}

// RFC 8551 §3.2: the label is not enough. The body must be base64 and nothing
// else, so no text a reader could see sits in clear, and must decode to
// enveloped data.
bool is_smime_enveloped(int spool_fd, const message_layout& layout) {
  auto encoding = single_transfer_encoding(spool_fd, layout);
  if (!encoding || *encoding != GMIME_CONTENT_ENCODING_BASE64) return false;
  spool_lines lines(spool_fd, layout.body_offset, layout.size);
  std::string head;  // the first base64 characters, enough for the OID
  for (spool_line line; lines.next(line);) {
    std::string_view text(line.prefix.data(), line.length - line.line_end_size);
    if (text.size() > line.prefix.size()) return false;  // no base64 writer makes 1 KiB lines
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (!is_base64_text(text)) return false;
    if (head.size() < 32) head.append(text.substr(0, 32 - head.size()));
  }
  // Padding belongs at the end; decoders differ on '=' inside the data.
  if (head.find('=') != std::string::npos) return false;
  head.resize(head.size() / 4 * 4);  // whole base64 quanta only
  gsize size = 0;
  detail::glib_ptr<guchar> decoded(g_base64_decode(head.c_str(), &size));
  return opens_enveloped_content_info(
      std::string(reinterpret_cast<const char*>(decoded.get()), size));
}

bool is_inline_pgp(int spool_fd, const message_layout& layout) {
  auto encoding = single_transfer_encoding(spool_fd, layout);
  if (!encoding) return false;
  auto body = open_spool_range(spool_fd, layout.body_offset, layout.size);
  return is_one_armored_message(body.get(), *encoding);
}

protection classify(int spool_fd, const message_layout& layout, GMimeContentType* type) {
  if (g_mime_content_type_is_type(type, "multipart", "encrypted")) {
    return has_param(type, "protocol", {"application/pgp-encrypted"}) &&
                   is_well_formed_pgp_mime(spool_fd, layout, type)
               ? protection::pgp_mime
               : protection::none;
  }
  if (g_mime_content_type_is_type(type, "application", "pkcs7-mime") ||
      g_mime_content_type_is_type(type, "application", "x-pkcs7-mime")) {
    return has_param(type, "smime-type", {"enveloped-data", "authEnveloped-data"}) &&
                   is_smime_enveloped(spool_fd, layout)
               ? protection::smime_enveloped
               : protection::none;
  }
  if (g_mime_content_type_is_type(type, "text", "*")) {
    return is_inline_pgp(spool_fd, layout) ? protection::inline_pgp : protection::none;
  }
  if (g_mime_content_type_is_type(type, "multipart", "mixed")) {
    return is_exchange_mixed_up(spool_fd, layout, type) ? protection::exchange_pgp_mime
                                                        : protection::none;
  }
  return protection::none;
}

}  // namespace

const char* describe(protection p) noexcept {
  switch (p) {
    case protection::none:
      return "not encrypted";
    case protection::pgp_mime:
      return "already PGP/MIME encrypted";
    case protection::smime_enveloped:
      return "already S/MIME encrypted";
    case protection::inline_pgp:
      return "already inline PGP encrypted";
    case protection::exchange_pgp_mime:
      return "already PGP/MIME encrypted (rewritten by Microsoft Exchange)";
  }
  return "unknown";
}

protection detect_protection(int spool_fd, const message_layout& layout) {
  auto fields = fields_named(layout, "content-type");
  // Two Content-Type fields make the type ambiguous: encrypting is the safe reading.
  if (fields.size() > 1) return protection::none;
  std::string value = "text/plain";
  if (!fields.empty()) {
    auto read = read_field_value(spool_fd, *fields.front(), max_mime_field_value);
    if (!read) return protection::none;
    value = *read;
  }
  auto type =
      gobject_ptr<GMimeContentType>::adopt(g_mime_content_type_parse(nullptr, value.c_str()));
  if (!type) return protection::none;
  return classify(spool_fd, layout, type.get());
}

}  // namespace gpgseal
