// Whether gpgsm can be told to take the keyring's certificates as trusted,
// or whether the Debian 12 way holds (docs/SMIME.md §3). gpgsm learnt
// --always-trust in 2.2.42 and 2.4.4, and GPGME passes
// GPGME_ENCRYPT_ALWAYS_TRUST on to it for CMS from 1.23.0 on; with either
// older, the flag is silently ignored and a certificate whose root is not in
// trustlist.txt is refused ("Not trusted"). Only then must the chain validate.
#pragma once

#include <string_view>

namespace gpgseal::detail {

// Decides from the two version strings ("1.18.0", "2.2.40", "2.4.4-beta3");
// false for anything it cannot read. Never throws.
bool cms_always_trust_works(std::string_view gpgme_version, std::string_view gpgsm_version);

}  // namespace gpgseal::detail
