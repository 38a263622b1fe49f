// Streams a plaintext through gpg: GPGME pulls from a byte_source and pushes
// the armored ciphertext to a byte_sink through data callbacks, so neither
// side is ever held in memory whole.
#pragma once

#include <gpgme.h>

#include <vector>

#include "core/byte_stream.hpp"
#include "core/keys.hpp"

namespace gpgseal {

// Encrypts to every key in `keys` by fingerprint, without needing ownertrust.
// An exception thrown by `source` or `sink` is carried across GPGME and
// rethrown here; a gpg failure throws error(unavailable) naming the keys.
void encrypt_stream(gpgme_ctx_t ctx, const std::vector<recipient_key>& keys, byte_source& source,
                    byte_sink& sink);

}  // namespace gpgseal
