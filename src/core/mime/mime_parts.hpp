// The body parts of a multipart entity (RFC 2046 §5.1), found by streaming
// its body line by line, so memory stays flat whatever the parts hold. Shared
// by detection, which must not take an ambiguous structure for ciphertext,
// and by the Legacy Display Element, which writes into the main body parts.
#pragma once

#include <gmime/gmime.h>

#include <optional>
#include <string>
#include <vector>

#include "core/mime/header_scan.hpp"

namespace gpgseal {

// The byte ranges of the body parts of `layout`, split at the delimiter lines
// of `boundary`; nullopt unless the body has exactly that shape (a line that
// starts with the delimiter but says something else, text after the close,
// or no close at all). Throws error(io).
std::optional<std::vector<byte_range>> split_parts(int spool_fd, const message_layout& layout,
                                                   const std::string& boundary);

// The same, with the boundary parameter of `type` (1 to 70 characters).
std::optional<std::vector<byte_range>> parts_of(int spool_fd, const message_layout& layout,
                                                GMimeContentType* type);

// True if the entity has exactly one Content-Type field, of this type.
bool has_single_type(int spool_fd, const message_layout& part, const char* type,
                     const char* subtype);

}  // namespace gpgseal
