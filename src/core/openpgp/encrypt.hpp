// Streams a plaintext through gpg: GPGME pulls from a byte_source and pushes
// the armored ciphertext to a byte_sink through data callbacks, so neither
// side is ever held in memory whole.
#pragma once

#include <gpgme.h>

#include <vector>

#include "core/base/byte_stream.hpp"
#include "core/error.hpp"
#include "core/openpgp/keys.hpp"

namespace gpgseal {

// gpg refused a key: it is not in the keyring, or revoked or expired by now.
// Still an error(unavailable); a caller that chose the keys from memory can
// list the keyring again.
class key_refused : public error {
 public:
  explicit key_refused(const std::string& message) : error(error_kind::unavailable, message) {}
};

// Encrypts to every key in `keys` by fingerprint, without needing ownertrust.
// gpg itself refuses a key that is revoked or expired by now.
// An exception thrown by `source` or `sink` is carried across GPGME and
// rethrown here; a gpg failure throws error(unavailable) naming the keys,
// key_refused if it is one of them.
void encrypt_stream(gpgme_ctx_t ctx, const std::vector<recipient_key>& keys, byte_source& source,
                    byte_sink& sink);

}  // namespace gpgseal
