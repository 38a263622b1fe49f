// One-time set-up of GMime and GPGME. Kept out of the CLIs' --help and
// --version paths, which must not depend on either library working.
#pragma once

namespace gpgseal {

// Idempotent and thread-safe. Throws error(unavailable) if GPGME is too old
// or has no OpenPGP engine.
void initialise_libraries();

}  // namespace gpgseal
