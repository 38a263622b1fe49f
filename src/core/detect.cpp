#include "core/detect.hpp"

#include <gmime/gmime.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "core/armor_scan.hpp"
#include "core/error.hpp"
#include "core/gobject_ptr.hpp"

namespace gpgseal {

using detail::gobject_ptr;

namespace {

// Longer Content-Type values are not something an encrypting client writes.
constexpr std::size_t max_content_type_field = std::size_t{64} * 1024;

std::vector<const header_field*> fields_named(const message_layout& layout, const char* name) {
  std::vector<const header_field*> found;
  for (const auto& field : layout.fields) {
    if (field.name == name) found.push_back(&field);
  }
  return found;
}

gobject_ptr<GMimeStream> open_range(int spool_fd, std::uint64_t start, std::uint64_t end) {
  int fd = ::dup(spool_fd);
  if (fd < 0) throw system_error("cannot duplicate the spool descriptor", errno);
  auto whole = gobject_ptr<GMimeStream>::adopt(g_mime_stream_fs_new(fd));
  return gobject_ptr<GMimeStream>::adopt(g_mime_stream_substream(
      whole.get(), static_cast<gint64>(start), static_cast<gint64>(end)));
}

// Feeds the decoded content of `raw` to an armor scanner, stopping early once
// the answer is no.
bool is_one_armored_message(GMimeStream* raw, GMimeContentEncoding encoding) {
  auto filtered = gobject_ptr<GMimeStream>::adopt(g_mime_stream_filter_new(raw));
  if (encoding == GMIME_CONTENT_ENCODING_BASE64 ||
      encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
      encoding == GMIME_CONTENT_ENCODING_UUENCODE) {
    auto decoder = gobject_ptr<GMimeFilter>::adopt(g_mime_filter_basic_new(encoding, FALSE));
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), decoder.get());
  }
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

std::optional<GMimeContentEncoding> single_transfer_encoding(int spool_fd,
                                                             const message_layout& layout) {
  auto fields = fields_named(layout, "content-transfer-encoding");
  if (fields.empty()) return GMIME_CONTENT_ENCODING_DEFAULT;
  if (fields.size() > 1) return std::nullopt;
  auto value = read_field_value(spool_fd, *fields.front(), max_content_type_field);
  if (!value) return std::nullopt;
  return g_mime_content_encoding_from_string(value->c_str());
}

bool has_param(GMimeContentType* type, const char* name, std::initializer_list<const char*> values) {
  const char* value = g_mime_content_type_get_parameter(type, name);
  if (!value) return false;
  for (const char* v : values) {
    if (g_ascii_strcasecmp(value, v) == 0) return true;
  }
  return false;
}

bool is_type(GMimeObject* object, const char* type, const char* subtype) {
  GMimeContentType* ct = object ? g_mime_object_get_content_type(object) : nullptr;
  return ct && g_mime_content_type_is_type(ct, type, subtype);
}

// RFC 3156 §4: exactly two parts, application/pgp-encrypted then an
// application/octet-stream that holds the armored message.
bool is_well_formed_pgp_mime(int spool_fd, const message_layout& layout) {
  std::uint64_t start = layout.mbox_from ? layout.mbox_from->end() : 0;
  auto stream = open_range(spool_fd, start, layout.size);
  auto parser = gobject_ptr<GMimeParser>::adopt(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_persist_stream(parser.get(), TRUE);
  auto message =
      gobject_ptr<GMimeMessage>::adopt(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!message) return false;
  GMimeObject* top = g_mime_message_get_mime_part(message.get());
  if (!top || !GMIME_IS_MULTIPART(top) || !is_type(top, "multipart", "encrypted")) return false;
  auto* multipart = GMIME_MULTIPART(top);
  if (g_mime_multipart_get_count(multipart) != 2) return false;
  GMimeObject* version = g_mime_multipart_get_part(multipart, 0);
  GMimeObject* payload = g_mime_multipart_get_part(multipart, 1);
  if (!is_type(version, "application", "pgp-encrypted")) return false;
  if (!GMIME_IS_PART(payload) || !is_type(payload, "application", "octet-stream")) return false;
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(payload));
  if (!content) return false;
  GMimeStream* raw = g_mime_data_wrapper_get_stream(content);
  g_mime_stream_reset(raw);
  return is_one_armored_message(raw, g_mime_data_wrapper_get_encoding(content));
}

bool is_inline_pgp(int spool_fd, const message_layout& layout) {
  auto encoding = single_transfer_encoding(spool_fd, layout);
  if (!encoding) return false;
  auto body = open_range(spool_fd, layout.body_offset, layout.size);
  return is_one_armored_message(body.get(), *encoding);
}

protection classify(int spool_fd, const message_layout& layout, GMimeContentType* type) {
  if (g_mime_content_type_is_type(type, "multipart", "encrypted")) {
    return has_param(type, "protocol", {"application/pgp-encrypted"}) &&
                   is_well_formed_pgp_mime(spool_fd, layout)
               ? protection::pgp_mime
               : protection::none;
  }
  if (g_mime_content_type_is_type(type, "application", "pkcs7-mime") ||
      g_mime_content_type_is_type(type, "application", "x-pkcs7-mime")) {
    return has_param(type, "smime-type", {"enveloped-data", "authEnveloped-data"})
               ? protection::smime_enveloped
               : protection::none;
  }
  if (g_mime_content_type_is_type(type, "text", "*")) {
    return is_inline_pgp(spool_fd, layout) ? protection::inline_pgp : protection::none;
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
  }
  return "unknown";
}

protection detect_protection(int spool_fd, const message_layout& layout) {
  auto fields = fields_named(layout, "content-type");
  // Two Content-Type fields make the type ambiguous: encrypting is the safe reading.
  if (fields.size() > 1) return protection::none;
  std::string value = "text/plain";
  if (!fields.empty()) {
    auto read = read_field_value(spool_fd, *fields.front(), max_content_type_field);
    if (!read) return protection::none;
    value = *read;
  }
  auto type = gobject_ptr<GMimeContentType>::adopt(g_mime_content_type_parse(nullptr, value.c_str()));
  if (!type) return protection::none;
  return classify(spool_fd, layout, type.get());
}

}  // namespace gpgseal
