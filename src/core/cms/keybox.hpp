// What kinds of keys a keyring directory holds, read from the keybox file
// headers without starting GnuPG: enough to know whether S/MIME (gpgsm) is
// worth starting at all, since finding gpgsm costs GPGME three gpgconf runs.
#pragma once

#include <string>
#include <vector>

#include "core/settings.hpp"

namespace gpgseal::detail {

struct keyring_kinds {
  bool openpgp = false;  // OpenPGP keys may be there
  bool x509 = false;     // X.509 certificates may be there
};

// Reads the blob headers of `gnupg_home`/pubring.kbx (GnuPG's keybox: each
// blob starts with its 32-bit big-endian length and a type byte, 2 for
// OpenPGP, 3 for X.509). A legacy pubring.gpg counts as OpenPGP; a keybox it
// cannot read, or a keyboxd database, counts as both. Never throws.
keyring_kinds scan_keyring_kinds(const std::string& gnupg_home);

// The protocols worth trying for a keyring of `kinds`, in order (true:
// S/MIME): the preferred one first; a side whose kind of key the keyring does
// not hold at all is left out. The filter and the key report both follow it.
std::vector<bool> protocols_to_try(const keyring_kinds& kinds, protocol_preference prefer);

}  // namespace gpgseal::detail
