// The Legacy Display Element (RFC 9788 §4.5, Appendix E): with the Subject
// hidden outside, the main body parts of the payload start with the real
// Subject, so that clients without header protection still show it, and say
// so with hp-legacy-display="1", so that clients with it hide it again.
#pragma once

#include <string>
#include <vector>

#include "core/mime/header_scan.hpp"

namespace gpgseal {

// `text` stands for the bytes `replaced` of the spool (length 0: inserted
// at replaced.offset).
struct body_edit {
  byte_range replaced;
  std::string text;
};

struct legacy_display_plan {
  // The payload root is itself a main body part: its own Content-Type (which
  // the payload writes) gets hp-legacy-display="1".
  bool root_is_main_part = false;
  std::vector<body_edit> edits;  // inside the body, sorted, not overlapping
};

// The edits for the main body parts of `layout` (RFC 9788 §4.5.1: the root if
// it is text/plain or text/html; each such child of multipart/alternative;
// the first child of multipart/mixed and multipart/related, looked into the
// same way). A part that cannot take the element without re-encoding its
// body (base64; a 7bit part and a Subject its charset cannot hold in 7 bits;
// a charset that cannot hold the Subject) is left alone. `subject` is UTF-8.
// Requires initialise_libraries(). Throws error(io).
legacy_display_plan plan_legacy_display(int spool_fd, const message_layout& layout,
                                        const std::string& subject);

}  // namespace gpgseal
