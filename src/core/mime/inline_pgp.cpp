#include "core/mime/inline_pgp.hpp"

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "core/mime/flatten.hpp"

namespace gpgseal {

using detail::gobject_ptr;

namespace {

// A message is one text/plain part if its only Content-Type says so, or if
// it has none (RFC 2045 §5.2 default).
bool is_single_text_plain(int fd, const message_layout& layout) {
  auto fields = fields_named(layout, "content-type");
  if (fields.empty()) return true;
  if (fields.size() > 1) return false;
  auto value = read_field_value(fd, *fields.front(), max_mime_field_value);
  if (!value) return false;
  auto type =
      gobject_ptr<GMimeContentType>::adopt(g_mime_content_type_parse(nullptr, value->c_str()));
  return type && g_mime_content_type_is_type(type.get(), "text", "plain");
}

std::optional<inline_text> whole_body_text(int fd, const message_layout& layout) {
  auto encoding = single_transfer_encoding(fd, layout);
  if (!encoding || !is_single_text_plain(fd, layout)) return std::nullopt;
  inline_text text;
  if (auto fields = fields_named(layout, "content-type"); !fields.empty()) {
    auto value = read_field_value(fd, *fields.front(), max_mime_field_value);
    if (value) text.content_type = *value;
  }
  auto raw = open_spool_range(fd, layout.body_offset, layout.size);
  text.decoded = decoded_stream(raw.get(), *encoding);
  return text;
}

std::string unfolded(const char* raw) {
  std::string value = raw ? raw : "";
  value.erase(
      std::remove_if(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n'; }),
      value.end());
  if (value.empty() || (value[0] != ' ' && value[0] != '\t')) value.insert(0, " ");
  return value;
}

// The leaf's Content-* fields; its transfer encoding no longer applies to
// armored text, which is 7bit.
std::vector<std::string> leaf_fields(GMimePart* part) {
  std::vector<std::string> fields;
  GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(part));
  for (int i = 0; i < g_mime_header_list_get_count(headers); ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(headers, i);
    std::string name = g_mime_header_get_name(header);
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.rfind("content-", 0) != 0) continue;
    if (lower == "content-transfer-encoding") {
      fields.push_back("Content-Transfer-Encoding: 7bit");
    } else {
      fields.push_back(name + ":" + unfolded(g_mime_header_get_raw_value(header)));
    }
  }
  return fields;
}

std::optional<inline_text> flattened_text(int fd, const message_layout& layout) {
  auto tree = std::make_shared<mime_tree>(fd, layout);
  auto reduced = flatten_to_text(tree->top());
  if (!reduced) return std::nullopt;
  GMimeDataWrapper* content = g_mime_part_get_content(reduced->text_part);
  if (!content) return std::nullopt;
  inline_text text;
  GMimeStream* raw = g_mime_data_wrapper_get_stream(content);
  g_mime_stream_reset(raw);
  text.decoded = decoded_stream(raw, g_mime_data_wrapper_get_encoding(content));
  text.flattened_from = reduced->structure;
  char* type = g_mime_content_type_encode(
      g_mime_object_get_content_type(GMIME_OBJECT(reduced->text_part)), nullptr);
  text.content_type = type ? type : "";
  g_free(type);
  text.leaf_content_fields = leaf_fields(reduced->text_part);
  text.tree = std::move(tree);
  return text;
}

// True if the stream is valid UTF-8 from start to end; rewinds it.
bool is_valid_utf8(GMimeStream* stream) {
  std::array<char, 65536> buffer{};
  std::string carry;  // an incomplete sequence at the end of a chunk
  bool valid = true;
  for (ssize_t n; valid && (n = g_mime_stream_read(stream, buffer.data(), buffer.size())) > 0;) {
    std::string chunk = carry + std::string(buffer.data(), static_cast<std::size_t>(n));
    const gchar* end = nullptr;
    g_utf8_validate(chunk.data(), static_cast<gssize>(chunk.size()), &end);
    std::size_t good = static_cast<std::size_t>(end - chunk.data());
    carry = chunk.substr(good);
    valid = carry.size() < 4 &&
            (carry.empty() ||
             g_utf8_get_char_validated(carry.data(), static_cast<gssize>(carry.size())) ==
                 static_cast<gunichar>(-2));
  }
  if (g_mime_stream_reset(stream) != 0) {
    throw error(error_kind::io, "cannot rewind the text to encrypt inline");
  }
  return valid && carry.empty();
}

// The charset to convert from, or nullptr if the text is UTF-8 already.
const char* source_charset(const inline_text& text) {
  const char* declared = nullptr;
  gobject_ptr<GMimeContentType> type;
  if (!text.content_type.empty()) {
    type = gobject_ptr<GMimeContentType>::adopt(
        g_mime_content_type_parse(nullptr, text.content_type.c_str()));
    if (type) declared = g_mime_content_type_get_parameter(type.get(), "charset");
  }
  if (declared && g_ascii_strcasecmp(declared, "us-ascii") != 0) {
    const char* name = g_mime_charset_iconv_name(declared);
    if (g_ascii_strcasecmp(name, "UTF-8") == 0) return nullptr;
    auto probe = gobject_ptr<GMimeFilter>::adopt(g_mime_filter_charset_new(name, "UTF-8"));
    if (probe) return name;
  }
  // Undeclared, US-ASCII or unknown: what mail readers assume of 8-bit text.
  return is_valid_utf8(text.decoded.get()) ? nullptr : "WINDOWS-1252";
}

void convert_to_utf8(inline_text& text) {
  text.utf8 = true;
  const char* from = source_charset(text);
  if (!from) return;
  auto filtered = gobject_ptr<GMimeStream>::adopt(g_mime_stream_filter_new(text.decoded.get()));
  auto filter = gobject_ptr<GMimeFilter>::adopt(g_mime_filter_charset_new(from, "UTF-8"));
  if (!filter) throw error(error_kind::software, std::string("no converter from ") + from);
  g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), filter.get());
  text.decoded = std::move(filtered);
}

// The Content-Type field of the converted text: its own type and parameters,
// charset=utf-8.
std::string utf8_content_type(const std::string& value) {
  auto type = gobject_ptr<GMimeContentType>::adopt(
      g_mime_content_type_parse(nullptr, value.empty() ? "text/plain" : value.c_str()));
  if (!type) return "Content-Type: text/plain; charset=utf-8";
  g_mime_content_type_set_parameter(type.get(), "charset", "utf-8");
  char* encoded = g_mime_content_type_encode(type.get(), nullptr);
  std::string field = std::string("Content-Type:") + (encoded ? encoded : "");
  g_free(encoded);
  while (!field.empty() && (field.back() == '\n' || field.back() == '\r')) field.pop_back();
  return field;
}

}  // namespace

std::optional<inline_text> find_inline_text(int spool_fd, const message_layout& layout,
                                            bool flatten, bool utf8) {
  auto text = whole_body_text(spool_fd, layout);
  if (!text && flatten) text = flattened_text(spool_fd, layout);
  if (text && utf8) convert_to_utf8(*text);
  return text;
}

std::size_t gmime_source::read(char* buffer, std::size_t size) {
  ssize_t n = g_mime_stream_read(stream_, buffer, size);
  if (n < 0) throw error(error_kind::io, "cannot read the text to encrypt inline");
  return static_cast<std::size_t>(n);
}

inline_writer::inline_writer(fd_writer& out, int spool_fd, const message_layout& layout,
                             const inline_text& text)
    : out_(out),
      spool_fd_(spool_fd),
      layout_(layout),
      text_(text),
      eol_(layout.crlf ? "\r\n" : "\n"),
      armor_(out, layout.crlf) {}

void inline_writer::line(const std::string& text) {
  out_.write(text);
  out_.write(eol_);
}

void inline_writer::copy_field(const header_field& field) {
  copy_range_to(out_, spool_fd_, field.raw.offset, field.raw.length);
  if (!field.has_line_end) out_.write(eol_);
}

void inline_writer::write_head() {
  if (layout_.mbox_from) copy_field(header_field{*layout_.mbox_from, "", true});
  const bool flattened = text_.flattened_from.has_value();
  bool has_mime_version = false;
  bool typed = false;
  for (const auto& field : layout_.fields) {
    has_mime_version |= field.name == "mime-version";
    if (field.name == "dkim-signature" || field.name == "domainkey-signature") continue;
    if (flattened && is_content_field(field.name)) continue;
    if (field.name == "content-transfer-encoding") {
      line("Content-Transfer-Encoding: 7bit");
      continue;
    }
    if (field.name == "content-type" && text_.utf8) {
      if (!typed) line(utf8_content_type(text_.content_type));
      typed = true;
      continue;
    }
    copy_field(field);
  }
  for (const auto& field : text_.leaf_content_fields) {
    bool is_type = g_ascii_strncasecmp(field.c_str(), "content-type:", 13) == 0;
    line(is_type && text_.utf8 ? utf8_content_type(text_.content_type) : field);
  }
  // The text is UTF-8 now, which a message without a Content-Type cannot say.
  if (text_.utf8 && !flattened && !typed) {
    line(utf8_content_type(""));
    if (!has_mime_version) line("MIME-Version: 1.0");
  }
  if (flattened) {
    line("X-Gpgit-Flattened-From: " + *text_.flattened_from);
    if (!has_mime_version) line("MIME-Version: 1.0");
  }
  line("X-Gpgit-Executed: True");
  line("");
}

void inline_writer::write(const char* data, std::size_t size) { armor_.write(data, size); }

}  // namespace gpgseal
