// Writes the PGP/MIME message (RFC 3156 §4): the original envelope line and
// header fields byte for byte (less the Content-* fields, which travel inside,
// and the DKIM signatures, which can no longer verify; with a hidden Subject,
// in the form RFC 9788's hcp_baseline gives them), the added top-level
// fields, the version part, and the armored ciphertext as it arrives.
#pragma once

#include <string>

#include "core/base/byte_stream.hpp"
#include "core/base/crlf.hpp"
#include "core/base/fd_io.hpp"
#include "core/mime/header_scan.hpp"
#include "core/mime/protected_headers.hpp"

namespace gpgseal {

class pgp_mime_writer : public byte_sink {
 public:
  // `out` and `spool_fd` are borrowed. Line ends follow the input's (layout.crlf).
  pgp_mime_writer(fd_writer& out, int spool_fd, const message_layout& layout,
                  const header_protection& policy, std::string boundary);

  // Everything up to the first line of the armored ciphertext.
  void write_head();
  // Armored ciphertext, as GPGME produces it.
  void write(const char* data, std::size_t size) override;
  // The closing delimiter.
  void write_tail();

 private:
  void line(const std::string& text);

  fd_writer& out_;
  int spool_fd_;
  const message_layout& layout_;
  header_protection policy_;
  std::string boundary_;
  std::string eol_;
  line_end_writer armor_;
};

// Writes what stays outside in clear, as the original has it: the mbox "From "
// line, the header fields `policy` keeps outside (each with its line end; a
// hidden Subject as "[...]"), and "MIME-Version: 1.0" if the original had
// none. Shared by the PGP/MIME and S/MIME writers. Throws error(io).
void write_outer_fields(fd_writer& out, int spool_fd, const message_layout& layout,
                        const header_protection& policy);

// A boundary that cannot occur in armored text (it contains '.' and '_',
// which are outside the radix-64 alphabet).
std::string make_boundary();

// True for fields of an encrypted message that are the original's outer
// fields (and gpgseal's marker), not its MIME structure.
bool stays_outside(const std::string& lower_name);

}  // namespace gpgseal
