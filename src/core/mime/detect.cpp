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
#include "core/mime/binary_message_scan.hpp"
#include "core/mime/mime_parts.hpp"
#include "core/mime/mime_tree.hpp"

namespace gpgseal {

using detail::gobject_ptr;

namespace {

// Feeds the decoded content of `raw` to an armor scanner, stopping early once
// the answer is no.
bool is_one_armored_message(GMimeStream* raw, GMimeContentEncoding encoding) {
  auto filtered = decoded_stream(raw, encoding);
  armor_scanner scanner;
  std::array<char, 65536> buffer;
  for (;;) {
    ssize_t n = g_mime_stream_read(filtered.get(), buffer.data(), buffer.size());
    if (n < 0) throw error(error_kind::io, "cannot read the spooled message body");
    if (n == 0) break;
    scanner.feed(buffer.data(), static_cast<std::size_t>(n));
    if (scanner.rejected()) return false;
  }
  return scanner.finish();
}

bool is_base64_text(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return g_ascii_isalnum(c) || c == '+' || c == '/' || c == '='; });
}

// The body is declared base64 and is base64 and nothing else, so no text a
// reader could see sits in clear. Returns its first base64 characters
// (`head_size` at most), or nullopt.
std::optional<std::string> base64_only_body(int spool_fd, const message_layout& layout,
                                            std::size_t head_size) {
  auto encoding = single_transfer_encoding(spool_fd, layout);
  if (!encoding || *encoding != GMIME_CONTENT_ENCODING_BASE64) return std::nullopt;
  spool_lines lines(spool_fd, layout.body_offset, layout.size);
  std::string head;
  for (spool_line line; lines.next(line);) {
    std::string_view text(line.prefix.data(), line.length - line.line_end_size);
    // No base64 writer makes 1 KiB lines.
    if (text.size() > line.prefix.size()) return std::nullopt;
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (!is_base64_text(text)) return std::nullopt;
    if (head.size() < head_size) head.append(text.substr(0, head_size - head.size()));
  }
  return head;
}

// The decoded (base64) body of `part` is one binary OpenPGP encrypted message.
bool is_one_binary_message(int spool_fd, const message_layout& part) {
  auto raw = open_spool_range(spool_fd, part.body_offset, part.size);
  auto decoded = decoded_stream(raw.get(), GMIME_CONTENT_ENCODING_BASE64);
  binary_message_scanner scanner;
  std::array<char, 65536> buffer;
  for (;;) {
    ssize_t n = g_mime_stream_read(decoded.get(), buffer.data(), buffer.size());
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

// The decoded body of a part if it is at most `limit` bytes long.
std::optional<std::string> short_decoded_body(int spool_fd, const message_layout& part,
                                              std::size_t limit) {
  auto encoding = single_transfer_encoding(spool_fd, part);
  if (!encoding) return std::nullopt;
  auto raw = open_spool_range(spool_fd, part.body_offset, part.size);
  auto decoded = decoded_stream(raw.get(), *encoding);
  std::string text;
  std::array<char, 1024> buffer;
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
  if (is_one_armored_message(body.get(), *encoding)) return true;
  // Exchange also passes on base64 of a binary message (notmuch and GMime
  // read it so): base64 and nothing else, decoding to ciphertext only.
  return version_text && base64_only_body(spool_fd, payload, 0) &&
         is_one_binary_message(spool_fd, payload);
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
// else, and must decode to enveloped data.
bool is_smime_enveloped(int spool_fd, const message_layout& layout) {
  auto found = base64_only_body(spool_fd, layout, 32);  // enough for the OID
  if (!found) return false;
  std::string head = *found;
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
    // Old clients send name=smime.p7m with no smime-type (RFC 2311): then
    // the body alone must prove it is enveloped data.
    bool untyped = g_mime_content_type_get_parameter(type, "smime-type") == nullptr;
    return (untyped || has_param(type, "smime-type", {"enveloped-data", "authEnveloped-data"})) &&
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
