#include "core/mime/mime_tree.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "core/error.hpp"

namespace gpgseal {

using detail::gobject_ptr;

gobject_ptr<GMimeStream> open_spool_range(int spool_fd, std::uint64_t start, std::uint64_t end) {
  int fd = ::dup(spool_fd);
  if (fd < 0) throw system_error("cannot duplicate the spool descriptor", errno);
  auto whole = gobject_ptr<GMimeStream>::adopt(g_mime_stream_fs_new(fd));
  return gobject_ptr<GMimeStream>::adopt(
      g_mime_stream_substream(whole.get(), static_cast<gint64>(start), static_cast<gint64>(end)));
}

gobject_ptr<GMimeStream> decoded_stream(GMimeStream* raw, GMimeContentEncoding encoding) {
  auto filtered = gobject_ptr<GMimeStream>::adopt(g_mime_stream_filter_new(raw));
  if (encoding == GMIME_CONTENT_ENCODING_BASE64 ||
      encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
      encoding == GMIME_CONTENT_ENCODING_UUENCODE) {
    auto decoder = gobject_ptr<GMimeFilter>::adopt(g_mime_filter_basic_new(encoding, FALSE));
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), decoder.get());
  }
  return filtered;
}

std::optional<GMimeContentEncoding> single_transfer_encoding(int spool_fd,
                                                             const message_layout& layout) {
  auto fields = fields_named(layout, "content-transfer-encoding");
  if (fields.empty()) return GMIME_CONTENT_ENCODING_DEFAULT;
  if (fields.size() > 1) return std::nullopt;
  auto value = read_field_value(spool_fd, *fields.front(), max_mime_field_value);
  if (!value) return std::nullopt;
  return g_mime_content_encoding_from_string(value->c_str());
}

std::string mime_type_of(GMimeObject* object) {
  GMimeContentType* type = object ? g_mime_object_get_content_type(object) : nullptr;
  if (!type) return "text/plain";
  std::string text = std::string(g_mime_content_type_get_media_type(type)) + "/" +
                     g_mime_content_type_get_media_subtype(type);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

mime_tree::mime_tree(int spool_fd, const message_layout& layout)
    : stream_(
          open_spool_range(spool_fd, layout.mbox_from ? layout.mbox_from->end() : 0, layout.size)) {
  auto parser = gobject_ptr<GMimeParser>::adopt(g_mime_parser_new_with_stream(stream_.get()));
  g_mime_parser_set_persist_stream(parser.get(), TRUE);
  message_ =
      gobject_ptr<GMimeMessage>::adopt(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!message_ || !g_mime_message_get_mime_part(message_.get())) {
    throw error(error_kind::data, "the message cannot be parsed as MIME");
  }
}

GMimeObject* mime_tree::top() const noexcept {
  return g_mime_message_get_mime_part(message_.get());
}

}  // namespace gpgseal
