#include "core/cms/sealing.hpp"

#include <gpgme.h>

#include "core/cms/always_trust.hpp"
#include "core/cms/certificates.hpp"
#include "core/openpgp/encrypt.hpp"
#include "core/openpgp/key_cache.hpp"
#include "core/openpgp/keyring_dir.hpp"

namespace gpgseal::detail {

namespace {

// Every CMS encryption asks for always-trust (openpgp/encrypt.cpp); where
// GPGME and gpgsm honour it, the keyring alone is the trust decision.
key_source certificates() {
  return {select_certificates_for_sealing, describe_missing_certificates,
          certificate_cache_file_name, true};
}

openpgp_result seal_on_new_context(const std::string& home, const seal_settings& settings,
                                   deadline_watchdog& watchdog, const compose_function& compose) {
  auto ctx = make_cms_context(home);
  deadline_cancel_scope cancel_at_deadline(
      watchdog, [c = ctx.get()] { gpgme_cancel_async(c); }, "gpgsm");
  return compose_for_chosen_keys(ctx.get(), home, settings, watchdog, compose, certificates());
}

}  // namespace

key_selection select_certificates_for_sealing(gpgme_ctx_t ctx,
                                              const std::vector<std::string>& addresses) {
  const bool chain_must_validate =
      !cms_always_trust_works(gpgme_check_version(nullptr), gpgsm_version(ctx));
  return select_certificates(ctx, addresses, chain_must_validate);
}

openpgp_result seal_to_certificates(const seal_settings& settings, deadline_watchdog& watchdog,
                                    const compose_function& compose) {
  const std::string home = keyring_directory(settings);
  check_keyring_directory(home);
  try {
    return seal_on_new_context(home, settings, watchdog, compose);
  } catch (const key_refused&) {
    // A remembered certificate gpgsm refused, now forgotten: a listing decides.
    if (watchdog.expired()) throw;
    return seal_on_new_context(home, settings, watchdog, compose);
  }
}

}  // namespace gpgseal::detail
