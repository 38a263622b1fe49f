// The entity that gets encrypted (RFC 3156 §4): the original's Content-* header
// fields exactly as received, an empty line, then the original body bytes,
// all in canonical CRLF form. It is read straight from the spool, chunk by chunk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/byte_stream.hpp"
#include "core/base/crlf.hpp"
#include "core/mime/header_scan.hpp"

namespace gpgseal {

class payload_source : public byte_source {
 public:
  // Reads from `spool_fd` (not owned) over the ranges `layout` names.
  payload_source(int spool_fd, const message_layout& layout);
  std::size_t read(char* buffer, std::size_t size) override;

 private:
  struct segment {
    byte_range range;     // bytes of the spool, or
    std::string literal;  // bytes gpgseal adds (line ends)
  };
  bool refill();

  int fd_;
  std::vector<segment> segments_;
  std::size_t segment_ = 0;
  std::uint64_t consumed_ = 0;  // of the current segment
  crlf_encoder encoder_;
  std::vector<char> raw_;
  std::string converted_;
  std::size_t served_ = 0;  // of converted_
};

}  // namespace gpgseal
