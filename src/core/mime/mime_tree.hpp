// The spooled message parsed by GMime with a persistent stream: the tree is
// in memory, the bodies stay on disk and are read on demand.
#pragma once

#include <gmime/gmime.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/gobject_ptr.hpp"
#include "core/mime/header_scan.hpp"

namespace gpgseal {

class mime_tree {
 public:
  // Parses from after the mbox envelope line to the end. Requires
  // initialise_libraries(). Throws error(data) if GMime finds no message.
  mime_tree(int spool_fd, const message_layout& layout);

  [[nodiscard]] GMimeObject* top() const noexcept;

 private:
  detail::gobject_ptr<GMimeStream> stream_;
  detail::gobject_ptr<GMimeMessage> message_;
};

// A readable stream over bytes [start, end) of the spool (the descriptor is
// duplicated, so the stream owns its own). Throws error(io).
detail::gobject_ptr<GMimeStream> open_spool_range(int spool_fd, std::uint64_t start,
                                                  std::uint64_t end);

// The decoded content of a leaf part as a stream, its transfer encoding undone.
detail::gobject_ptr<GMimeStream> decoded_stream(GMimeStream* raw, GMimeContentEncoding encoding);

// The transfer encoding of an entity: the default when it names none,
// nullopt when it names more than one or the value is unreadably long.
std::optional<GMimeContentEncoding> single_transfer_encoding(int spool_fd,
                                                             const message_layout& layout);

// "type/subtype" in lower case.
std::string mime_type_of(GMimeObject* object);

}  // namespace gpgseal
