// The entity that gets encrypted (RFC 3156 §4): the protected header fields
// (RFC 9788, protected_headers.hpp), the original's Content-* header fields
// exactly as received with the Content-Type marked, an empty line, then the
// original body bytes (with, if asked, the Legacy Display Element, and nothing
// else, added), all in canonical CRLF form. It is read straight from the
// spool, chunk by chunk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/byte_stream.hpp"
#include "core/base/crlf.hpp"
#include "core/mime/header_scan.hpp"
#include "core/mime/legacy_display.hpp"
#include "core/settings.hpp"

namespace gpgseal {

class payload_source : public byte_source {
 public:
  // Reads from `spool_fd` (not owned) over the ranges `layout` names. Reads
  // the header fields it must rewrite at once. Requires
  // initialise_libraries(). Throws error(io).
  payload_source(int spool_fd, const message_layout& layout, const header_protection& policy);
  std::size_t read(char* buffer, std::size_t size) override;

 private:
  struct segment {
    byte_range range;     // bytes of the spool, or
    std::string literal;  // bytes gpgseal adds (line ends)
  };
  bool refill();
  void add_range(const byte_range& range) { segments_.push_back({range, {}}); }
  void add_text(std::string text) { segments_.push_back({{}, std::move(text)}); }
  void add_field(const header_field& field);
  void add_protected_fields(const message_layout& layout, const header_protection& policy);
  void add_content_fields(const message_layout& layout, bool legacy_display_root);
  void add_body(const message_layout& layout, const std::vector<body_edit>& edits);

  int fd_;
  std::vector<segment> segments_;
  std::size_t segment_ = 0;
  std::uint64_t consumed_ = 0;  // of the current segment
  crlf_encoder encoder_;
  io_buffer raw_;
  std::string converted_;
  std::size_t served_ = 0;  // of converted_
};

}  // namespace gpgseal
