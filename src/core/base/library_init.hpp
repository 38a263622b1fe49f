// One-time set-up of GMime and GPGME. Kept out of the CLIs' --help and
// --version paths, which must not depend on either library working.
#pragma once

namespace gpgseal {

// Idempotent and thread-safe. Throws error(unavailable) if GPGME is too old
// or has no OpenPGP engine.
void initialise_libraries();

// Which GPGME engines this process may use; the first call decides, before
// the first GPGME context. Without CMS, GPGME is told not to run gpgconf (it
// would run it three times and gpgsm once to find engines: about 10 ms). With
// CMS it must: GPGME 1.18 finds gpgsm only through gpgconf, which it looks
// up along PATH, so PATH is then set to the system directories (setenv: the
// first call must come before any other thread reads the environment).
// Returns whether CMS is usable, as the first call decided. Requires
// initialise_libraries(). Throws error(unavailable) if PATH cannot be set.
bool select_engines(bool with_cms);

}  // namespace gpgseal
