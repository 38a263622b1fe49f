#include "core/mime/payload.hpp"

#include <algorithm>
#include <cstring>

#include "core/base/fd_io.hpp"
#include "core/error.hpp"
#include "core/mime/legacy_display.hpp"
#include "core/mime/protected_headers.hpp"

namespace gpgseal {

namespace {

// RFC 9788 §2.1, and the protected-headers="v1" of the convention before it.
std::vector<std::pair<std::string, std::string>> root_markers(bool legacy_display) {
  std::vector<std::pair<std::string, std::string>> markers = {{"protected-headers", "v1"},
                                                              {"hp", "cipher"}};
  if (legacy_display) markers.emplace_back("hp-legacy-display", "1");
  return markers;
}

std::string read_range(int fd, const byte_range& range) {
  std::string bytes(static_cast<std::size_t>(range.length), '\0');
  bytes.resize(pread_full(fd, bytes.data(), bytes.size(), range.offset));
  return bytes;
}

}  // namespace

payload_source::payload_source(int spool_fd, const message_layout& layout,
                               const header_protection& policy)
    : fd_(spool_fd), raw_(1 << 16) {
  legacy_display_plan display;
  if (policy.hide_subject && policy.legacy_display) {
    display = plan_legacy_display(spool_fd, layout, decoded_subject(spool_fd, layout));
  }
  add_protected_fields(layout, policy);
  add_content_fields(layout, display.root_is_main_part);
  add_text("\r\n");
  add_body(layout, display.edits);
}

void payload_source::add_field(const header_field& field) {
  add_range(field.raw);
  if (!field.has_line_end) add_text("\r\n");
}

// RFC 9788 §2.2: the copies, then an HP-Outer line for each of them that
// stays outside, in the form it has there.
void payload_source::add_protected_fields(const message_layout& layout,
                                          const header_protection& policy) {
  for (const auto& field : layout.fields) {
    if (copied_inside(field.name)) add_field(field);
  }
  for (const auto& field : layout.fields) {
    if (!copied_inside(field.name)) continue;
    switch (outer_form_of(field.name, policy)) {
      case outer_form::kept:
        add_text("HP-Outer: ");
        add_field(field);
        break;
      case outer_form::obscured:
        add_text("HP-Outer: " + std::string(obscured_subject) + "\r\n");
        break;
      case outer_form::removed:
        break;
    }
  }
}

void payload_source::add_content_fields(const message_layout& layout, bool legacy_display_root) {
  const auto markers = root_markers(legacy_display_root);
  bool typed = false;
  for (const auto& field : layout.fields) {
    if (!is_content_field(field.name)) continue;
    if (field.name != "content-type") {
      add_field(field);
      continue;
    }
    typed = true;
    if (field.raw.length > max_mime_field_value) {
      // Too long to parse (no mail client writes one): the markers follow
      // on a folded line of their own.
      add_field(field);
      add_text("\t; protected-headers=\"v1\"; hp=\"cipher\"\r\n");
      continue;
    }
    add_text(with_parameters(read_range(fd_, field.raw), markers, protection_parameters()));
  }
  // RFC 2045 §5.2: the type of a message without a Content-Type.
  if (!typed) add_text("Content-Type: text/plain; " + parameter_text(markers) + "\r\n");
}

void payload_source::add_body(const message_layout& layout, const std::vector<body_edit>& edits) {
  std::uint64_t at = layout.body_offset;
  for (const auto& edit : edits) {
    add_range({at, edit.replaced.offset - at});
    add_text(edit.text);
    at = edit.replaced.end();
  }
  add_range({at, layout.size - at});
}

bool payload_source::refill() {
  converted_.clear();
  served_ = 0;
  while (segment_ < segments_.size()) {
    const segment& s = segments_[segment_];
    if (!s.literal.empty()) {
      encoder_.convert(s.literal.data(), s.literal.size(), converted_);
      ++segment_;
      return true;
    }
    std::uint64_t left = s.range.length - consumed_;
    if (left == 0) {
      ++segment_;
      consumed_ = 0;
      continue;
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, raw_.size()));
    std::size_t got = pread_full(fd_, raw_.data(), want, s.range.offset + consumed_);
    if (got == 0) throw error(error_kind::io, "the spooled message ended early");
    consumed_ += got;
    encoder_.convert(raw_.data(), got, converted_);
    return true;
  }
  return false;
}

std::size_t payload_source::read(char* buffer, std::size_t size) {
  if (served_ == converted_.size() && !refill()) return 0;
  std::size_t n = std::min(size, converted_.size() - served_);
  std::memcpy(buffer, converted_.data() + served_, n);
  served_ += n;
  return n;
}

}  // namespace gpgseal
