#include "core/cms/certificates.hpp"

#include <optional>
#include <string_view>

#include "core/base/address.hpp"
#include "core/error.hpp"
#include "core/openpgp/gpg_context.hpp"

namespace gpgseal::detail {

namespace {

void check(gpgme_error_t err, const std::string& what) {
  if (err) throw error(error_kind::unavailable, what + ": " + gpg_error_text(err));
}

// Returns why `cert` cannot be encrypted to, or nullopt if it can. With a
// validating listing, gpgsm marks a certificate invalid whose chain does not
// end at a root trusted in this keyring (trustlist.txt) or lacks an issuer;
// that matters only to a gpgsm that must validate the chain to encrypt.
std::optional<std::string> certificate_problem(gpgme_key_t cert, bool chain_must_validate) {
  gpgme_subkey_t key = cert->subkeys;
  if (cert->revoked || (key && key->revoked)) return std::string("revoked");
  if (cert->expired || (key && key->expired)) {
    return "expired " + utc_date(key ? key->expires : 0);
  }
  if (!key || !key->can_encrypt) {
    return std::string(
        "not for encryption (key usage, or a key type this gpgsm cannot encrypt to)");
  }
  if (cert->disabled) return std::string("disabled");
  if (chain_must_validate && (cert->invalid || key->invalid)) {
    return std::string(
        "its chain is not valid here (root not trusted in trustlist.txt, or an "
        "issuer missing)");
  }
  return std::nullopt;
}

// GPGME gives a certificate's emails as further user IDs, with angle
// brackets: "<alice@example.org>".
bool names_address(gpgme_key_t cert, const std::string& address) {
  for (gpgme_user_id_t uid = cert->uids; uid; uid = uid->next) {
    if (!uid->email) continue;
    std::string_view email(uid->email);
    if (email.size() >= 2 && email.front() == '<' && email.back() == '>') {
      email = email.substr(1, email.size() - 2);
    }
    if (same_mailbox(email, address)) return true;
  }
  return false;
}

std::string fingerprint_of(gpgme_key_t cert) {
  if (cert->fpr) return cert->fpr;
  return cert->subkeys && cert->subkeys->fpr ? cert->subkeys->fpr : "";
}

// GPGME 1.18 sends gpgsm "OPTION offline" when an operation starts, but an
// encryption names its recipients before that, and gpgsm checks each
// recipient's chain, CRLs included, as it is named: a first encryption on a
// context would still ask dirmngr. The option stays for the gpgsm session,
// so a listing that finds nothing (a fingerprint look-up, no validation)
// sets it first.
void go_offline(gpgme_ctx_t ctx) {
  gpgme_keylist_mode_t mode = gpgme_get_keylist_mode(ctx);
  check(gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL), "cannot set key list mode");
  gpgme_error_t err = gpgme_op_keylist_start(ctx, "0x0000000000000000000000000000000000000000", 0);
  while (!err) {
    gpgme_key_t none = nullptr;
    err = gpgme_op_keylist_next(ctx, &none);
    if (!err) gpgme_key_unref(none);
  }
  gpgme_op_keylist_end(ctx);
  if (gpgme_err_code(err) != GPG_ERR_EOF) {
    throw error(error_kind::unavailable, "cannot start gpgsm offline: " + gpg_error_text(err));
  }
  check(gpgme_set_keylist_mode(ctx, mode), "cannot set key list mode");
}

}  // namespace

context_ptr make_cms_context(const std::string& gnupg_home) {
  gpgme_ctx_t raw = nullptr;
  check(gpgme_new(&raw), "cannot create a GPGME context");
  context_ptr ctx(raw);
  check(gpgme_set_protocol(ctx.get(), GPGME_PROTOCOL_CMS), "cannot select CMS (gpgsm)");
  check(gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_CMS, nullptr, gnupg_home.c_str()),
        "cannot use gpgsm with keyring directory " + gnupg_home);
  gpgme_set_armor(ctx.get(), 0);
  // gpgsm's "OPTION offline": no dirmngr, so no CRL, OCSP or issuer look-up.
  gpgme_set_offline(ctx.get(), 1);
  check(gpgme_set_keylist_mode(ctx.get(), GPGME_KEYLIST_MODE_LOCAL | GPGME_KEYLIST_MODE_VALIDATE),
        "cannot set key list mode");
  go_offline(ctx.get());
  return ctx;
}

std::string gpgsm_version(gpgme_ctx_t ctx) {
  for (gpgme_engine_info_t e = gpgme_ctx_get_engine_info(ctx); e; e = e->next) {
    if (e->protocol == GPGME_PROTOCOL_CMS && e->version) return e->version;
  }
  return "";
}

key_selection select_certificates(gpgme_ctx_t ctx, const std::vector<std::string>& addresses,
                                  bool chain_must_validate) {
  // gpgsm matches substrings (malice@ for alice@): names_address decides.
  auto listed = list_keys_matching(ctx, addresses);
  key_selection selection;
  for (const auto& address : addresses) {
    bool found = false;
    for (const auto& cert : listed) {
      if (!names_address(cert.get(), address)) continue;
      if (auto problem = certificate_problem(cert.get(), chain_must_validate)) {
        selection.rejected.push_back({address, fingerprint_of(cert.get()), *problem});
        continue;
      }
      found = true;
      add_key_once(selection, fingerprint_of(cert.get()),
                   cert->subkeys ? cert->subkeys->expires : 0);
    }
    if (!found) selection.addresses_without_key.push_back(address);
  }
  return selection;
}

std::string describe_missing_certificates(const key_selection& selection,
                                          const std::string& gnupg_home) {
  std::string text;
  for (const auto& address : selection.addresses_without_key) {
    if (!text.empty()) text += "; ";
    text += "no usable S/MIME certificate for <" + address + "> in " + gnupg_home;
    std::string why;
    for (const auto& r : selection.rejected) {
      if (r.address != address) continue;
      why += (why.empty() ? "" : ", ") + std::string("certificate 0x") + r.fingerprint + " " +
             r.reason;
    }
    if (!why.empty()) text += " (" + why + ")";
  }
  return text;
}

}  // namespace gpgseal::detail
