// Canonical line ends: RFC 3156 §3 requires the encrypted MIME entity to be in
// canonical CRLF form, and an output written for a CRLF input keeps CRLF.
#pragma once

#include <cstddef>
#include <string>

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

}  // namespace gpgseal
