#include "core/key_status.hpp"

#include "core/base/library_init.hpp"
#include "core/error.hpp"
#include "core/openpgp/gpg_context.hpp"
#include "core/openpgp/keyring_dir.hpp"
#include "core/openpgp/keys.hpp"
#include "core/openpgp/sealing.hpp"

namespace gpgseal {

namespace {

void list_keys(const seal_settings& settings, key_status& status) {
  auto ctx = make_gpg_context(status.keyring, settings.engine_default_home);
  key_selection selection = select_keys(ctx.get(), {settings.addresses.at(0)});
  for (const auto& key : selection.keys) {
    status.keys.push_back({key.fingerprint, key.usable_until});
  }
  for (const auto& rejected : selection.rejected) {
    status.rejected.push_back({rejected.fingerprint, rejected.reason});
  }
  if (selection.complete()) {
    status.state = key_state::usable;
  } else {
    status.state = key_state::no_key;
    status.detail = selection.describe_missing(status.keyring);
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
