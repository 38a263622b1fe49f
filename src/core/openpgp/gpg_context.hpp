// A GPGME context bound to one keyring directory, configured the way every
// gpgseal operation needs it: OpenPGP, armored output, local keys only, and the
// "always" trust model, because the user's own keyring is the trust decision
// and no ownertrust must be needed.
#pragma once

#include <string>

#include "core/openpgp/gpgme_handles.hpp"

namespace gpgseal {

// Requires initialise_libraries(). `engine_default_home` is the directory gpg
// uses when given none (from its environment), or "" if unknown: when it is
// `gnupg_home`, gpg is not told the directory, which spares GPGME a second
// `gpg --version` run. Throws error(unavailable) if GPGME fails.
detail::context_ptr make_gpg_context(const std::string& gnupg_home,
                                     const std::string& engine_default_home = "");

// What gpg wrote on stderr during the last operation on `ctx`: the only place
// some failures (a corrupt keybox during a key listing) are reported.
std::string gpg_diagnostics(gpgme_ctx_t ctx);

// The diagnostic lines that say the keyring could not be read, joined by
// "; ", or "" if none.
std::string gpg_error_lines(const std::string& diagnostics);

// Text of a GPGME error, for messages.
std::string gpg_error_text(gpgme_error_t err);

}  // namespace gpgseal
