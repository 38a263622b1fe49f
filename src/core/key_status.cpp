#include "core/key_status.hpp"

#include "core/base/library_init.hpp"
#include "core/cms/certificates.hpp"
#include "core/cms/keybox.hpp"
#include "core/cms/sealing.hpp"
#include "core/error.hpp"
#include "core/openpgp/gpg_context.hpp"
#include "core/openpgp/keyring_dir.hpp"
#include "core/openpgp/keys.hpp"
#include "core/openpgp/sealing.hpp"

namespace gpgseal {

namespace {

key_selection select_on(bool smime, const std::string& home, const seal_settings& settings) {
  const std::vector<std::string> address{settings.addresses.at(0)};
  if (smime)
    return detail::select_certificates_for_sealing(detail::make_cms_context(home).get(), address);
  return select_keys(make_gpg_context(home, settings.engine_default_home).get(), address);
}

std::string describe_missing(bool smime, const key_selection& selection, const std::string& home) {
  return smime ? detail::describe_missing_certificates(selection, home)
               : selection.describe_missing(home);
}

// The first protocol, in the filter's order, with a usable key; else every
// key refused on either side, and why.
void list_keys(const seal_settings& settings, key_status& status) {
  const detail::keyring_kinds kinds = detail::scan_keyring_kinds(status.keyring);
  select_engines(kinds.x509);
  status.state = key_state::no_key;
  for (bool smime : detail::protocols_to_try(kinds, settings.prefer)) {
    key_selection selection = select_on(smime, status.keyring, settings);
    for (const auto& rejected : selection.rejected) {
      status.rejected.push_back({rejected.fingerprint, rejected.reason});
    }
    if (selection.complete()) {
      status.state = key_state::usable;
      status.smime = smime;
      status.detail.clear();
      for (const auto& key : selection.keys) {
        status.keys.push_back({key.fingerprint, key.usable_until});
      }
      return;
    }
    status.detail +=
        (status.detail.empty() ? "" : "; ") + describe_missing(smime, selection, status.keyring);
  }
}

}  // namespace

key_status inspect_keys(const seal_settings& settings) {
  key_status status;
  try {
    status.keyring = detail::keyring_directory(settings);
    if (keyring_directory_absent(status.keyring)) {
      status.state = key_state::no_keyring;
      status.detail = "no keyring directory: " + status.keyring + " does not exist";
      return status;
    }
    check_keyring_directory(status.keyring);
    if (!has_public_keyring(status.keyring)) {
      status.state = key_state::no_key;
      status.detail = "no usable encryption key for <" + settings.addresses.at(0) + "> in " +
                      status.keyring + " (it holds no public keyring)";
      return status;
    }
    initialise_libraries();
    list_keys(settings, status);
  } catch (const error& e) {
    status.state = key_state::keyring_unusable;
    status.detail = e.what();
  }
  return status;
}

}  // namespace gpgseal
