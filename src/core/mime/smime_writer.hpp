// Writes the S/MIME message (RFC 8551 §3.3): the original envelope line and
// header fields byte for byte (less the Content-* fields, which travel inside,
// and the DKIM signatures), the added top-level fields, and the binary CMS
// enveloped data as it arrives, base64-encoded (RFC 2045 §6.8) in lines of 76
// characters with the input's line ends.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "core/base/byte_stream.hpp"
#include "core/base/fd_io.hpp"
#include "core/mime/header_scan.hpp"
#include "core/mime/protected_headers.hpp"

namespace gpgseal {

class smime_writer : public byte_sink {
 public:
  // `out` and `spool_fd` are borrowed. Line ends follow the input's (layout.crlf).
  // The outer fields follow `policy`, as for PGP/MIME (protected_headers.hpp).
  smime_writer(fd_writer& out, int spool_fd, const message_layout& layout,
               const header_protection& policy);

  // The header and the empty line before the base64 body.
  void write_head();
  // Binary CMS, as GPGME produces it, in pieces of any size.
  void write(const char* data, std::size_t size) override;
  // The last, padded quantum and line.
  void write_tail();

 private:
  void encode_quantum(const unsigned char* in, std::size_t size);

  fd_writer& out_;
  int spool_fd_;
  const message_layout& layout_;
  header_protection policy_;
  std::string eol_;
  std::array<unsigned char, 3> pending_{};  // bytes not yet making a whole quantum
  std::size_t pending_size_ = 0;
  std::size_t column_ = 0;
  std::string line_;  // the encoded characters of the current output chunk
};

}  // namespace gpgseal
