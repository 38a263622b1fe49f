// Canonical line ends: RFC 3156 §3 requires the encrypted MIME entity to be in
// canonical CRLF form, and an output written for a CRLF input keeps CRLF.
#pragma once

#include <cstddef>
#include <string>

#include "core/base/fd_io.hpp"

namespace gpgseal {

// Turns every LF that is not already preceded by CR into CRLF; CRLF and bare CR
// pass unchanged. Keeps state across calls, so a CRLF split between two chunks
// is recognised.
class crlf_encoder {
 public:
  // Appends the converted bytes to `out` (at most 2 * size bytes).
  void convert(const char* data, std::size_t size, std::string& out);
  void reset() noexcept { last_was_cr_ = false; }

 private:
  bool last_was_cr_ = false;
};

// Writes text whose lines end in LF (gpg's armor) to `out` (borrowed),
// turned into CRLF when the message it goes into uses CRLF.
class line_end_writer {
 public:
  line_end_writer(fd_writer& out, bool crlf) : out_(out), crlf_(crlf) {}
  void write(const char* data, std::size_t size);

 private:
  fd_writer& out_;
  bool crlf_;
  crlf_encoder encoder_;
  std::string converted_;
};

}  // namespace gpgseal
