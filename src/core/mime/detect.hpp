// Decides whether a message is already encrypted, so that it is passed through
// rather than encrypted twice. Only structures that really are ciphertext
// count: a label alone (a spoofed Content-Type, a quoted armor line) is not
// enough, because wrongly saying "already encrypted" stores a message in clear,
// while wrongly saying "not encrypted" only encrypts it twice.
#pragma once

#include "core/mime/header_scan.hpp"

namespace gpgseal {

enum class protection {
  none,
  pgp_mime,           // RFC 3156 §4 multipart/encrypted with two well-formed parts
  smime_enveloped,    // RFC 8551 §3.2 application/pkcs7-mime enveloped or authEnveloped data
  inline_pgp,         // a single text part whose whole body is one armored PGP MESSAGE
  exchange_pgp_mime,  // PGP/MIME that Microsoft Exchange rewrote as multipart/mixed
};

const char* describe(protection p) noexcept;

// Reads what it needs of the spooled message through GMime streams (bodies stay
// on disk). Requires initialise_libraries(). Throws error(io) if reading fails.
protection detect_protection(int spool_fd, const message_layout& layout);

}  // namespace gpgseal
