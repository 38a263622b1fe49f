#include "core/openpgp/sealing.hpp"

#include <ctime>

#include "core/error.hpp"
#include "core/openpgp/encrypt.hpp"
#include "core/openpgp/gpg_context.hpp"
#include "core/openpgp/key_cache.hpp"
#include "core/openpgp/keyring_dir.hpp"
#include "core/openpgp/keys.hpp"

namespace gpgseal::detail {

namespace {

struct chosen_keys {
  key_selection selection;
  bool remembered = false;  // from the key cache, not from a listing
};

chosen_keys choose_keys(gpgme_ctx_t ctx, const std::string& home, const seal_settings& settings,
                        const key_source& source, bool may_recall) {
  const std::int64_t now = std::time(nullptr);
  if (settings.key_cache && may_recall) {
    if (auto keys = recall_keys(home, settings.addresses, now, source.cache_file_name)) {
      chosen_keys chosen{{}, true};
      chosen.selection.keys = std::move(*keys);
      return chosen;
    }
  }
  const std::string state = settings.key_cache ? observe_keyring(home) : "";
  key_selection selection = source.select(ctx, settings.addresses);
  if (settings.key_cache) {
    remember_keys(home, state, settings.addresses, selection, now, source.cache_file_name);
  }
  return {std::move(selection), false};
}

openpgp_result sealed_with(const key_selection& selection) {
  openpgp_result result;
  result.sealed = true;
  for (const auto& key : selection.keys) result.fingerprints.push_back(key.fingerprint);
  return result;
}

openpgp_result missing(std::string why) {
  openpgp_result result;
  result.missing = std::move(why);
  return result;
}

}  // namespace

// If gpg refuses a remembered key, the keyring changed in a way its files'
// times did not show: the choice is dropped and a listing decides.
openpgp_result compose_for_chosen_keys(gpgme_ctx_t ctx, const std::string& home,
                                       const seal_settings& settings, deadline_watchdog& watchdog,
                                       const compose_function& compose, const key_source& source) {
  auto compose_with = [&](const key_selection& selection) {
    compose([&](byte_source& plaintext, byte_sink& ciphertext) {
      encrypt_stream(ctx, selection.keys, plaintext, ciphertext);
    });
    return sealed_with(selection);
  };
  chosen_keys chosen = choose_keys(ctx, home, settings, source, true);
  if (chosen.remembered) {
    try {
      return compose_with(chosen.selection);
    } catch (const key_refused&) {
      if (watchdog.expired()) throw;
      forget_keys(home, source.cache_file_name);
      if (source.refusal_ends_the_context) throw;
      chosen = choose_keys(ctx, home, settings, source, false);
    }
  }
  if (!chosen.selection.complete()) return missing(source.describe_missing(chosen.selection, home));
  return compose_with(chosen.selection);
}

namespace {

const key_source openpgp_keys{select_keys,
                              [](const key_selection& selection, const std::string& home) {
                                return selection.describe_missing(home);
                              },
                              key_cache_file_name};

}  // namespace

std::string keyring_directory(const seal_settings& settings) {
  if (!settings.gnupg_home_is_template) return settings.gnupg_home;
  return expand_keyring_template(settings.gnupg_home, settings.addresses.at(0));
}

openpgp_result seal_to_openpgp_keys(const seal_settings& settings, deadline_watchdog& watchdog,
                                    const compose_function& compose) {
  const std::string home = keyring_directory(settings);
  if (keyring_directory_absent(home)) {
    openpgp_result result = missing("no keyring directory: " + home + " does not exist");
    result.no_keyring = true;
    result.keyring = home;
    return result;
  }
  check_keyring_directory(home);
  if (!has_public_keyring(home)) {
    // gpg would create an empty keyring file in the user's directory.
    return missing("no usable encryption key for " + bracketed_addresses(settings.addresses) +
                   " in " + home + " (it holds no public keyring)");
  }
  auto ctx = make_gpg_context(home, settings.engine_default_home);
  deadline_cancel_scope cancel_at_deadline(watchdog, [c = ctx.get()] { gpgme_cancel_async(c); });
  return compose_for_chosen_keys(ctx.get(), home, settings, watchdog, compose, openpgp_keys);
}

}  // namespace gpgseal::detail
