#include "core/mime/legacy_display.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "core/base/fd_io.hpp"
#include "core/base/gobject_ptr.hpp"
#include "core/mime/mime_parts.hpp"
#include "core/mime/mime_tree.hpp"
#include "core/mime/protected_headers.hpp"

namespace gpgseal {

using detail::gobject_ptr;

namespace {

constexpr int max_depth = 8;
constexpr std::size_t body_tag_window = 64 * 1024;

std::string html_escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

// RFC 9788 §4.5.3.2 (text/plain) and §4.5.3.3 (text/html).
std::string element_for(bool html, const std::string& subject) {
  if (!html) return "Subject: " + subject + "\r\n\r\n";
  return "<div class=\"header-protection-legacy-display\"><pre>Subject: " + html_escaped(subject) +
         "</pre></div>";
}

// RFC 2045 §6.7, with soft line breaks around it so that it can go anywhere
// in a line and keeps every line under 76 characters.
std::string quoted_printable(const std::string& text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out = "=\r\n";
  std::size_t column = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      out += "\r\n";
      column = 0;
      ++i;
      continue;
    }
    bool before_break = i + 1 == text.size() || text[i + 1] == '\r';
    bool literal = (c >= 33 && c <= 126 && c != '=') || (c == ' ' && !before_break);
    std::string piece =
        literal ? std::string(1, static_cast<char>(c)) : std::string{'=', hex[c >> 4], hex[c & 15]};
    if (column + piece.size() > 75) {
      out += "=\r\n";
      column = 0;
    }
    out += piece;
    column += piece.size();
  }
  return out + "=\r\n";
}

bool is_ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 128; });
}

// The element in the part's charset, or nullopt if the charset cannot hold it.
std::optional<std::string> in_charset(const std::string& utf8, const char* charset) {
  if (!charset || g_ascii_strcasecmp(charset, "us-ascii") == 0) {
    if (is_ascii(utf8)) return utf8;
    return std::nullopt;
  }
  const char* name = g_mime_charset_iconv_name(charset);
  if (g_ascii_strcasecmp(name, "UTF-8") == 0) return utf8;
  gsize written = 0;
  GError* failure = nullptr;
  gchar* converted = g_convert(utf8.data(), static_cast<gssize>(utf8.size()), name, "UTF-8",
                               nullptr, &written, &failure);
  if (!converted) {
    g_clear_error(&failure);
    return std::nullopt;
  }
  std::string text(converted, written);
  g_free(converted);
  return text;
}

// Just after the <body ...> tag, if the start of the part has one.
std::uint64_t html_insertion_point(int fd, const message_layout& part) {
  std::size_t size = static_cast<std::size_t>(
      std::min<std::uint64_t>(part.size - part.body_offset, body_tag_window));
  std::string head(size, '\0');
  head.resize(pread_full(fd, head.data(), size, part.body_offset));
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::size_t at = lower.find("<body"); at != std::string::npos;
       at = lower.find("<body", at + 1)) {
    char after = at + 5 < lower.size() ? lower[at + 5] : '\0';
    if (after != '>' && !std::isspace(static_cast<unsigned char>(after))) continue;
    std::size_t close = lower.find('>', at);
    if (close != std::string::npos) return part.body_offset + close + 1;
  }
  return part.body_offset;
}

class planner {
 public:
  planner(int fd, std::string subject) : fd_(fd), subject_(std::move(subject)) {}

  void visit(const message_layout& entity, bool is_root, int depth) {
    auto type_fields = fields_named(entity, "content-type");
    if (type_fields.size() > 1 || depth > max_depth) return;
    std::string value = "text/plain";
    if (!type_fields.empty()) {
      auto read = read_field_value(fd_, *type_fields.front(), max_mime_field_value);
      if (!read) return;
      value = *read;
    }
    auto type =
        gobject_ptr<GMimeContentType>::adopt(g_mime_content_type_parse(nullptr, value.c_str()));
    if (!type) return;
    bool html = g_mime_content_type_is_type(type.get(), "text", "html");
    if (html || g_mime_content_type_is_type(type.get(), "text", "plain")) {
      mark_text_part(entity, type.get(), html, is_root);
      return;
    }
    bool alternative = g_mime_content_type_is_type(type.get(), "multipart", "alternative");
    if (!alternative && !g_mime_content_type_is_type(type.get(), "multipart", "mixed") &&
        !g_mime_content_type_is_type(type.get(), "multipart", "related")) {
      return;
    }
    auto parts = parts_of(fd_, entity, type.get());
    if (!parts) return;
    for (const auto& range : *parts) {
      visit(scan_part(fd_, range), false, depth + 1);
      if (!alternative) break;
    }
  }

  legacy_display_plan take() {
    std::sort(plan_.edits.begin(), plan_.edits.end(), [](const body_edit& a, const body_edit& b) {
      return a.replaced.offset < b.replaced.offset;
    });
    return std::move(plan_);
  }

 private:
  void mark_text_part(const message_layout& part, GMimeContentType* type, bool html, bool is_root) {
    if (!is_root && !part.blank_line_after_headers) return;
    auto encoding = single_transfer_encoding(fd_, part);
    if (!encoding || *encoding == GMIME_CONTENT_ENCODING_BASE64 ||
        *encoding == GMIME_CONTENT_ENCODING_UUENCODE) {
      return;
    }
    auto text =
        in_charset(element_for(html, subject_), g_mime_content_type_get_parameter(type, "charset"));
    bool seven_bit =
        *encoding == GMIME_CONTENT_ENCODING_DEFAULT || *encoding == GMIME_CONTENT_ENCODING_7BIT;
    if (!text || (seven_bit && !is_ascii(*text))) return;
    std::uint64_t at = html ? html_insertion_point(fd_, part) : part.body_offset;
    if (*encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) *text = quoted_printable(*text);
    plan_.edits.push_back({{at, 0}, std::move(*text)});
    if (is_root) {
      plan_.root_is_main_part = true;
      return;
    }
    auto type_fields = fields_named(part, "content-type");
    if (type_fields.empty()) {
      // A part without header fields opens with its blank line.
      std::uint64_t start = part.fields.empty() ? part.body_offset - (part.crlf ? 2 : 1)
                                                : part.fields.front().raw.offset;
      plan_.edits.push_back({{start, 0}, "Content-Type: text/plain; hp-legacy-display=\"1\"\r\n"});
      return;
    }
    const header_field& field = *type_fields.front();
    std::string raw(static_cast<std::size_t>(field.raw.length), '\0');
    raw.resize(pread_full(fd_, raw.data(), raw.size(), field.raw.offset));
    plan_.edits.push_back(
        {field.raw, with_parameters(raw, {{"hp-legacy-display", "1"}}, {"hp-legacy-display"})});
  }

  int fd_;
  std::string subject_;
  legacy_display_plan plan_;
};

}  // namespace

legacy_display_plan plan_legacy_display(int spool_fd, const message_layout& layout,
                                        const std::string& subject) {
  planner walk(spool_fd, subject);
  if (!subject.empty()) walk.visit(layout, true, 0);
  return walk.take();
}

}  // namespace gpgseal
