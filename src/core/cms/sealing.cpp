#include "core/cms/sealing.hpp"

#include "core/cms/certificates.hpp"
#include "core/openpgp/key_cache.hpp"
#include "core/openpgp/keyring_dir.hpp"

namespace gpgseal::detail {

namespace {

const key_source certificates{select_certificates, describe_missing_certificates,
                              certificate_cache_file_name};

}  // namespace

openpgp_result seal_to_certificates(const seal_settings& settings, deadline_watchdog& watchdog,
                                    const compose_function& compose) {
  const std::string home = keyring_directory(settings);
  check_keyring_directory(home);
  auto ctx = make_cms_context(home);
  deadline_cancel_scope cancel_at_deadline(watchdog, [c = ctx.get()] { gpgme_cancel_async(c); });
  return compose_for_chosen_keys(ctx.get(), home, settings, watchdog, compose, certificates);
}

}  // namespace gpgseal::detail
