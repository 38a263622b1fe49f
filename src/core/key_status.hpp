// Public face: what delivery would do for one recipient, without a message.
// For admins' reports: whether mail to the address would be encrypted, to
// which keys or certificates and until when, or why not. The same keyring
// checks, key rules and choice of protocol as the filter (openpgp/, cms/),
// and nothing is written: no key cache, no files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/settings.hpp"

namespace gpgseal {

enum class key_state {
  usable,            // mail would be encrypted to `keys` (S/MIME if `smime`)
  no_key,            // no usable key for the address (see `rejected`)
  no_keyring,        // the keyring directory does not exist
  keyring_unusable,  // it exists but cannot be used (`detail` says why)
};

struct key_status_key {
  std::string fingerprint;
  std::int64_t expires = 0;  // seconds since the epoch; 0: never
};

struct key_status_rejected {
  std::string fingerprint;
  std::string reason;  // e.g. "expired 2025-01-01"
};

struct key_status {
  key_state state = key_state::keyring_unusable;
  std::string keyring;  // the directory looked at
  std::string detail;   // why not usable; never message content
  bool smime = false;   // `keys` are X.509 certificates (S/MIME), not OpenPGP keys
  std::vector<key_status_key> keys;
  std::vector<key_status_rejected> rejected;
};

// Looks at the keyring of `settings` for its first address, as the filter
// would, in the order of `settings.prefer`. Starts gpgsm only for a keyring
// that holds certificates, and then chooses CMS for the process
// (select_engines). Problems become the state and `detail`; nothing is
// thrown for them.
key_status inspect_keys(const seal_settings& settings);

}  // namespace gpgseal
