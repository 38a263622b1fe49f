// Chooses the X.509 certificates a message is sealed to with S/MIME: for each
// address, every certificate in the local keyring with an email (subject or
// subjectAltName) exactly equal to the address, ignoring case, that has not
// expired, is not revoked, allows encryption, and whose chain gpgsm accepts
// here. Never a substring match, never the network: the context runs gpgsm
// offline (no dirmngr, CRL or OCSP; docs/SMIME.md).
#pragma once

#include <gpgme.h>

#include <string>
#include <vector>

#include "core/openpgp/gpgme_handles.hpp"
#include "core/openpgp/keys.hpp"

namespace gpgseal::detail {

// A GPGME CMS (gpgsm) context for `gnupg_home`: binary output, offline,
// listings validated. Requires select_engines(true) before the process's
// first GPGME context; throws error(unavailable) otherwise or if GPGME fails.
context_ptr make_cms_context(const std::string& gnupg_home);

// The version of the gpgsm `ctx` runs ("2.2.40"), or "" if GPGME does not say.
std::string gpgsm_version(gpgme_ctx_t ctx);

// Lists certificates through `ctx` (one gpgsm run for all addresses). The
// selection's fingerprints are the certificates' SHA-1 fingerprints, which
// gpgsm takes as recipients. Unless `chain_must_validate` (always_trust.hpp),
// a chain gpgsm does not accept here is no reason to refuse a certificate.
// Throws error(unavailable) if the listing fails.
key_selection select_certificates(gpgme_ctx_t ctx, const std::vector<std::string>& addresses,
                                  bool chain_must_validate);

// "no usable S/MIME certificate for <a@b> in DIR (certificate 0xFPR expired
// 2025-01-01)" for each address without one.
std::string describe_missing_certificates(const key_selection& selection,
                                          const std::string& gnupg_home);

}  // namespace gpgseal::detail
