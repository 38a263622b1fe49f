// The S/MIME side of sealing one message, beside openpgp/sealing.hpp and
// behind the same face: the certificates chosen for the addresses (remembered
// or listed, in a cache file of their own) and a gpgsm context that streams
// the plaintext to them as CMS enveloped data (RFC 5652 §6), in binary; the
// filter's composer writes it as RFC 8551 application/pkcs7-mime.
#pragma once

#include <gpgme.h>

#include <string>
#include <vector>

#include "core/base/deadline.hpp"
#include "core/openpgp/sealing.hpp"
#include "core/settings.hpp"

namespace gpgseal::detail {

// Like seal_to_openpgp_keys, to X.509 certificates through gpgsm. Requires
// select_engines(true). Checks the keyring directory as the OpenPGP side
// does. A remembered certificate gpgsm refuses is forgotten and the keyring
// listed again. `result.fingerprints` names the certificates used.
// The certificates sealing would choose through `ctx` (a CMS context) for
// `addresses`: a chain gpgsm does not accept here refuses a certificate only
// where always-trust does not work (always_trust.hpp).
key_selection select_certificates_for_sealing(gpgme_ctx_t ctx,
                                              const std::vector<std::string>& addresses);

openpgp_result seal_to_certificates(const seal_settings& settings, deadline_watchdog& watchdog,
                                    const compose_function& compose);

}  // namespace gpgseal::detail
