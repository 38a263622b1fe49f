#include "fuzz/fuzz_support.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/base/gobject_ptr.hpp"
#include "support/mail_check.hpp"

namespace gpgseal::fuzz {

using detail::gobject_ptr;

namespace {

// The core reads a field name from a line's first KiB only; a longer name
// makes the line body, which is the safe direction.
constexpr std::size_t name_window = 1024;

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::size_t take = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(0, take));
    text.remove_prefix(take);
  }
  return lines;
}

std::string_view trimmed(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r' ||
                           line.back() == '\n')) {
    line.remove_suffix(1);
  }
  return line;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(g_ascii_tolower(c));
  return out;
}

// RFC 5322 §3.6.8 field-name (ftext) and, from §4.5, optional WSP before the colon.
std::optional<std::string> field_name(std::string_view line) {
  line = line.substr(0, std::min(line.size(), name_window));
  std::size_t i = 0;
  while (i < line.size() && line[i] >= 33 && line[i] <= 126 && line[i] != ':') ++i;
  if (i == 0) return std::nullopt;
  std::size_t end = i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i >= line.size() || line[i] != ':') return std::nullopt;
  return lower(line.substr(0, end));
}

bool is_blank(std::string_view line) { return line == "\n" || line == "\r\n"; }
bool starts_with_wsp(std::string_view line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '\t');
}

int radix64_value(char c) {
  static const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = alphabet.find(c);
  return i == std::string_view::npos ? -1 : static_cast<int>(i);
}

// RFC 4880 §4.2: bit 7 set; new format keeps the tag in bits 5..0, old in 5..2.
bool is_session_key_packet(unsigned char first) {
  if (!(first & 0x80)) return false;
  unsigned tag = (first & 0x40) ? first & 0x3f : (first >> 2) & 0x0f;
  return tag == 1 || tag == 3;  // PKESK, SKESK
}

// GMime's reading of the body under the message's own Content-* fields. The
// header block itself is checked by check_layout; GMime's header parser is
// stricter than RFC 5322 about field names, which only moves header lines
// (never stored encrypted anyway) into what it calls the body.
gobject_ptr<GMimeMessage> parse_body_in_memory(std::string_view input,
                                               const message_layout& layout) {
  g_mime_init();
  std::string message;
  for (const auto& field : layout.fields) {
    if (field.name != "content-type" && field.name != "content-transfer-encoding") continue;
    message += input.substr(static_cast<std::size_t>(field.raw.offset),
                            static_cast<std::size_t>(field.raw.length));
    if (!field.has_line_end) message += "\n";
  }
  message += "\n";
  message += input.substr(static_cast<std::size_t>(layout.body_offset));
  auto stream = gobject_ptr<GMimeStream>::adopt(
      g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  auto parser = gobject_ptr<GMimeParser>::adopt(g_mime_parser_new_with_stream(stream.get()));
  return gobject_ptr<GMimeMessage>::adopt(g_mime_parser_construct_message(parser.get(), nullptr));
}

// RFC 8551 §3.2, RFC 5652 §3: a body of base64 lines only, decoding to a
// ContentInfo SEQUENCE that names enveloped or authEnveloped data.
bool is_enveloped_smime(std::string_view body, const std::string& der) {
  for (auto line : lines_of(body)) {
    line = trimmed(line);
    if (std::any_of(line.begin(), line.end(),
                    [](char c) { return radix64_value(c) < 0 && c != '='; })) {
      return false;
    }
  }
  static const std::string pkcs7("\x2a\x86\x48\x86\xf7\x0d\x01", 7);
  std::size_t oid = der.find(pkcs7);
  if (der.empty() || der[0] != '\x30' || oid == std::string::npos || oid > 8) return false;
  std::string rest = der.substr(oid + pkcs7.size(), 6);
  return rest.compare(0, 2, "\x07\x03") == 0 ||
         rest.compare(0, 6, std::string("\x09\x10\x01\x17", 4)) == 0;
}

std::string decoded_content(GMimeObject* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(part));
  if (!content) return "";
  auto mem = gobject_ptr<GMimeStream>::adopt(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, mem.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

bool has_type(GMimeObject* object, const char* type, const char* subtype) {
  return object &&
         g_mime_content_type_is_type(g_mime_object_get_content_type(object), type, subtype);
}

std::size_t count_fields(const message_layout& layout, const char* name) {
  return static_cast<std::size_t>(std::count_if(layout.fields.begin(), layout.fields.end(),
                                                [&](const auto& f) { return f.name == name; }));
}

bool is_white_space(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// RFC 3156 §4's two parts, and nothing after the close delimiter.
// The first octet of a binary OpenPGP message opens a session key packet
// (RFC 4880 §4.2: tag 1 or 3, old or new format).
bool opens_with_session_key(const std::string& data) {
  if (data.empty()) return false;
  auto octet = static_cast<unsigned char>(data[0]);
  if ((octet & 0x80) == 0) return false;
  int tag = (octet & 0x40) ? (octet & 0x3f) : ((octet >> 2) & 0x0f);
  return tag == 1 || tag == 3;
}

// `binary_allowed`: Exchange's form may carry base64 of a binary message.
void check_version_and_ciphertext(GMimeMultipart* multipart, int first,
                                  bool binary_allowed = false) {
  const char* epilogue = g_mime_multipart_get_epilogue(multipart);
  require(!epilogue || is_white_space(epilogue), "judged encrypted with text after the close");
  GMimeObject* version = g_mime_multipart_get_part(multipart, first);
  GMimeObject* data = g_mime_multipart_get_part(multipart, first + 1);
  require(has_type(version, "application", "pgp-encrypted"), "no version part");
  require(GMIME_IS_PART(data) && has_type(data, "application", "octet-stream"),
          "the ciphertext part is not application/octet-stream");
  std::string content = decoded_content(data);
  require(is_encrypted_armor(content) || (binary_allowed && opens_with_session_key(content)),
          "the ciphertext part is not encrypted armor");
}

void check_pgp_mime(GMimeObject* top) {
  const char* protocol = g_mime_object_get_content_type_parameter(top, "protocol");
  require(has_type(top, "multipart", "encrypted") && GMIME_IS_MULTIPART(top),
          "judged PGP/MIME but the top level is not multipart/encrypted");
  require(protocol && g_ascii_strcasecmp(protocol, "application/pgp-encrypted") == 0,
          "judged PGP/MIME without protocol=application/pgp-encrypted");
  require(g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 2, "PGP/MIME but not two parts");
  check_version_and_ciphertext(GMIME_MULTIPART(top), 0);
}

// gpgit's --skip-ms-bug shape: [blank text part,] version part, ciphertext.
void check_exchange_pgp_mime(GMimeObject* top) {
  require(has_type(top, "multipart", "mixed") && GMIME_IS_MULTIPART(top),
          "judged Exchange PGP/MIME but the top level is not multipart/mixed");
  auto* multipart = GMIME_MULTIPART(top);
  int count = g_mime_multipart_get_count(multipart);
  require(count == 2 || count == 3, "Exchange PGP/MIME with neither two nor three parts");
  if (count == 3) {
    GMimeObject* blank = g_mime_multipart_get_part(multipart, 0);
    require(GMIME_IS_PART(blank) && has_type(blank, "text", "plain") &&
                is_white_space(decoded_content(blank)),
            "Exchange PGP/MIME whose first part is not blank text");
  }
  // GMime reads on past a line that is no header field (up to the blank
  // line), the core stops there; either way a reader sees nothing but
  // "Version: 1" or nothing at all.
  GMimeObject* version = g_mime_multipart_get_part(multipart, count - 2);
  std::string said = GMIME_IS_PART(version) ? decoded_content(version) : "";
  std::size_t start = said.find_first_not_of(" \t\r\n");
  require(start == std::string::npos || trimmed(said).substr(start) == "Version: 1",
          "Exchange PGP/MIME whose version part says more than Version: 1");
  check_version_and_ciphertext(multipart, count - 2, true);
}

}  // namespace

void require(bool condition, const std::string& what) {
  if (condition) return;
  std::fprintf(stderr, "INVARIANT BROKEN: %s\n", what.c_str());
  std::abort();
}

std::string across_buffer_boundary(std::string_view input) {
  std::size_t shift = input.empty() ? 0 : static_cast<unsigned char>(input[0]) % 64;
  std::string pad = "X-Pad: ";
  pad.append((1u << 16) - shift - pad.size() - 1, 'p');
  pad += '\n';
  return pad + std::string(input);
}

std::string canonical_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

bool is_encrypted_armor(std::string_view text) {
  std::vector<std::string_view> lines;
  for (auto line : lines_of(text)) lines.push_back(trimmed(line));
  auto first = std::find_if(lines.begin(), lines.end(), [](auto l) { return !l.empty(); });
  if (first == lines.end() || *first != "-----BEGIN PGP MESSAGE-----") return false;
  auto it = first + 1;
  // Armor headers, "Key: Value", up to the blank line.
  for (; it != lines.end() && !it->empty(); ++it) {
    if (it->find(": ") == std::string_view::npos || it->find(": ") == 0) return false;
  }
  if (it == lines.end()) return false;
  auto radix_begin = ++it;
  for (; it != lines.end() && *it != "-----END PGP MESSAGE-----"; ++it) {
    if (it->empty() || std::any_of(it->begin(), it->end(),
                                   [](char c) { return radix64_value(c) < 0 && c != '='; })) {
      return false;
    }
  }
  if (it == lines.end() || it == radix_begin) return false;
  if (std::any_of(it + 1, lines.end(), [](auto l) { return !l.empty(); })) return false;
  std::string_view head = *radix_begin;
  if (head.size() < 2 || radix64_value(head[0]) < 0 || radix64_value(head[1]) < 0) return false;
  auto byte =
      static_cast<unsigned char>((radix64_value(head[0]) << 2) | (radix64_value(head[1]) >> 4));
  return is_session_key_packet(byte);
}

void check_layout(std::string_view input, const message_layout& layout) {
  require(layout.size == input.size(), "layout size differs from the input");
  require(layout.body_offset <= input.size(), "body starts past the end");
  auto all = lines_of(input);
  require(all.empty() ||
              layout.crlf == (all[0].size() >= 2 && all[0].substr(all[0].size() - 2) == "\r\n"),
          "crlf flag does not follow the first line");
  std::size_t pos = 0;
  require(layout.mbox_from.has_value() == (input.substr(0, 5) == "From "), "mbox line missed");
  if (layout.mbox_from) {
    require(layout.mbox_from->offset == 0 && layout.mbox_from->length == all[0].size(),
            "mbox line is not the whole first line");
    pos = all[0].size();
  }
  require(layout.fields.size() <= max_header_fields, "more fields than the limit");
  for (const auto& field : layout.fields) {
    require(field.raw.offset == pos && field.raw.end() <= input.size(), "fields do not tile");
    std::string_view raw = input.substr(pos, static_cast<std::size_t>(field.raw.length));
    auto name = field_name(raw);
    require(name && name->substr(0, max_kept_name) == field.name,
            "field does not start with its name and a colon");
    auto lines = lines_of(raw);
    for (std::size_t i = 1; i < lines.size(); ++i) {
      require(starts_with_wsp(lines[i]) && !is_blank(lines[i]), "continuation without white space");
    }
    require(field.has_line_end == (raw.back() == '\n'), "has_line_end is wrong");
    pos += raw.size();
  }
  std::string_view gap = input.substr(pos, static_cast<std::size_t>(layout.body_offset) -
                                               std::min<std::size_t>(pos, layout.body_offset));
  require(layout.body_offset >= pos && (gap.empty() || is_blank(gap)),
          "stray bytes before the body");
  if (!gap.empty() || layout.body_offset == input.size()) return;
  std::string_view next = lines_of(input.substr(pos))[0];
  require(!is_blank(next), "a blank line was not taken as the separator");
  require(!(starts_with_wsp(next) && !layout.fields.empty()), "a continuation line became body");
  require(!field_name(next) || layout.fields.size() == max_header_fields,
          "a header field became body");
}

void check_protection(std::string_view input, const message_layout& layout, protection found) {
  if (found == protection::none) return;
  require(count_fields(layout, "content-type") <= 1, "judged encrypted with two Content-Types");
  auto message = parse_body_in_memory(input, layout);
  require(bool(message), "judged encrypted but GMime finds no message");
  GMimeObject* top = g_mime_message_get_mime_part(message.get());
  require(top != nullptr, "judged encrypted but GMime finds no body");
  switch (found) {
    case protection::pgp_mime:
      check_pgp_mime(top);
      return;
    case protection::smime_enveloped: {
      const char* smime = g_mime_object_get_content_type_parameter(top, "smime-type");
      require(has_type(top, "application", "pkcs7-mime") ||
                  has_type(top, "application", "x-pkcs7-mime"),
              "judged S/MIME but not pkcs7-mime");
      require(GMIME_IS_PART(top), "judged S/MIME but not a leaf part");
      // No smime-type (old clients): the body alone says enveloped data.
      require(!smime || g_ascii_strcasecmp(smime, "enveloped-data") == 0 ||
                  g_ascii_strcasecmp(smime, "authEnveloped-data") == 0,
              "judged S/MIME but not enveloped data");
      require(is_enveloped_smime(input.substr(static_cast<std::size_t>(layout.body_offset)),
                                 decoded_content(top)),
              "judged S/MIME but the body is not base64 enveloped data");
      return;
    }
    case protection::exchange_pgp_mime:
      check_exchange_pgp_mime(top);
      return;
    case protection::inline_pgp:
      require(GMIME_IS_PART(top) && has_type(top, "text", "*"), "inline PGP but not one text part");
      require(count_fields(layout, "content-transfer-encoding") <= 1, "two transfer encodings");
      require(is_encrypted_armor(decoded_content(top)), "inline PGP body is not encrypted armor");
      return;
    case protection::none:
      return;
  }
}

namespace {

const std::string markers = "protected-headers=\"v1\"; hp=\"cipher\"";

std::string with_line_end(std::string_view raw) {
  std::string field(raw);
  if (field.empty() || field.back() != '\n') field += "\r\n";
  return field;
}

bool carries_marker_parameters(std::string_view raw) {
  std::string value(raw.substr(raw.find(':') + 1));
  value.erase(
      std::remove_if(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n'; }),
      value.end());
  GMimeContentType* type = g_mime_content_type_parse(nullptr, value.c_str());
  if (!type) return false;
  bool found = false;
  GMimeParamList* list = g_mime_content_type_get_parameters(type);
  for (int i = 0; i < g_mime_param_list_length(list); ++i) {
    const char* name = g_mime_param_get_name(g_mime_param_list_get_parameter_at(list, i));
    for (const char* marker : {"hp", "protected-headers", "hp-legacy-display"}) {
      found |= g_ascii_strcasecmp(name, marker) == 0;
    }
  }
  g_object_unref(type);
  return found;
}

// The original bytes, then the markers on a folded line of their own.
std::string marked_type(std::string_view raw) {
  if (raw.size() > 64 * 1024) return with_line_end(raw) + "\t; " + markers + "\r\n";
  std::string field(raw);
  // Not strchr: it would find a NUL byte too (its terminator).
  while (!field.empty() &&
         std::string_view("\r\n \t").find(field.back()) != std::string_view::npos) {
    field.pop_back();
  }
  if (field.back() != ';') field += ';';
  return field + "\r\n\t" + markers + "\r\n";
}

}  // namespace

std::optional<std::string> expected_payload(std::string_view input, const message_layout& layout) {
  std::string copies, outer, content;
  bool typed = false;
  for (const auto& field : layout.fields) {
    std::string_view raw = input.substr(static_cast<std::size_t>(field.raw.offset),
                                        static_cast<std::size_t>(field.raw.length));
    auto name = field_name(raw);
    if (!name) continue;
    if (name->rfind("content-", 0) != 0) {
      if (!test::is_copied(*name)) continue;
      copies += with_line_end(raw);
      outer += "HP-Outer: " + with_line_end(raw);
    } else if (*name == "content-type") {
      // Marker parameters of its own are removed and the field rewritten:
      // the caller checks that case by its structure.
      if (raw.size() <= 64 * 1024 && carries_marker_parameters(raw)) return std::nullopt;
      content += marked_type(raw);
      typed = true;
    } else {
      content += with_line_end(raw);
    }
  }
  if (!typed) content += "Content-Type: text/plain; " + markers + "\r\n";
  std::string payload = copies + outer + content + "\r\n";
  payload += input.substr(static_cast<std::size_t>(layout.body_offset));
  return canonical_crlf(payload);
}

bool payload_is_marked(const std::string& payload, std::string_view input,
                       const message_layout& layout) {
  std::string tail =
      canonical_crlf(std::string("\r\n") +
                     std::string(input.substr(static_cast<std::size_t>(layout.body_offset))));
  std::size_t head_end = payload.size() - std::min(payload.size(), tail.size());
  std::string head = payload.substr(0, head_end);
  return payload.size() >= tail.size() && payload.compare(head_end, tail.size(), tail) == 0 &&
         head.find("hp=\"cipher\"") != std::string::npos &&
         head.find("protected-headers=\"v1\"") != std::string::npos;
}

}  // namespace gpgseal::fuzz
