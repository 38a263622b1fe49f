#include "core/openpgp/keys.hpp"

#include <array>
#include <ctime>
#include <optional>

#include "core/base/address.hpp"
#include "core/error.hpp"
#include "core/openpgp/gpg_context.hpp"

namespace gpgseal {

namespace {

std::optional<std::string> encryption_subkey_problem(gpgme_key_t key) {
  std::optional<std::string> problem = "has no encryption subkey";
  for (gpgme_subkey_t sub = key->subkeys; sub; sub = sub->next) {
    if (!sub->can_encrypt) continue;
    if (sub->revoked) {
      problem = "encryption subkey revoked";
    } else if (sub->expired) {
      problem = "encryption subkey expired " + utc_date(sub->expires);
    } else if (sub->disabled || sub->invalid) {
      problem = "encryption subkey unusable";
    } else {
      return std::nullopt;
    }
  }
  return problem;
}

// Returns why `key` cannot encrypt, or nullopt if it can.
std::optional<std::string> key_problem(gpgme_key_t key) {
  if (key->revoked) return std::string("revoked");
  if (key->expired) return "expired " + utc_date(key->subkeys ? key->subkeys->expires : 0);
  if (key->disabled) return std::string("disabled");
  if (key->invalid) return std::string("invalid");
  return encryption_subkey_problem(key);
}

enum class uid_match { none, valid, unusable };

// GPGME parses the addr-spec out of the user ID; a bare "user@host" user ID
// has it too.
uid_match match_user_ids(gpgme_key_t key, const std::string& address) {
  uid_match best = uid_match::none;
  for (gpgme_user_id_t uid = key->uids; uid; uid = uid->next) {
    const char* mailbox = uid->address ? uid->address : uid->email;
    if (!mailbox || !same_mailbox(mailbox, address)) continue;
    if (!uid->revoked && !uid->invalid) return uid_match::valid;
    best = uid_match::unusable;
  }
  return best;
}

std::string fingerprint_of(gpgme_key_t key) {
  if (key->fpr) return key->fpr;
  return key->subkeys && key->subkeys->fpr ? key->subkeys->fpr : "";
}

std::vector<detail::key_ptr> list_local_keys(gpgme_ctx_t ctx,
                                             const std::vector<std::string>& addresses) {
  auto keys = list_keys_matching(ctx, addresses);
  // gpg reports an unreadable or corrupt keyring only on stderr; GPGME just
  // ends the listing, which would look like "no key".
  if (std::string problems = gpg_error_lines(gpg_diagnostics(ctx)); !problems.empty()) {
    throw error(error_kind::unavailable, "cannot read the keyring: " + problems);
  }
  return keys;
}

std::int64_t earliest_expiry(gpgme_key_t key) {
  std::int64_t earliest = 0;
  auto consider = [&](long expires) {
    if (expires > 0 && (earliest == 0 || expires < earliest)) earliest = expires;
  };
  for (gpgme_subkey_t sub = key->subkeys; sub; sub = sub->next) {
    if (sub == key->subkeys || (sub->can_encrypt && !sub->revoked)) consider(sub->expires);
  }
  return earliest;
}

}  // namespace

std::string utc_date(long seconds) {
  auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 16> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%d", &tm);
  return text.data();
}

std::vector<detail::key_ptr> list_keys_matching(gpgme_ctx_t ctx,
                                                const std::vector<std::string>& addresses) {
  std::vector<const char*> patterns;
  for (const auto& address : addresses) patterns.push_back(address.c_str());
  patterns.push_back(nullptr);
  // A substring search returns a superset (malice@ for alice@); the exact
  // comparison is the caller's.
  gpgme_error_t err = gpgme_op_keylist_ext_start(ctx, patterns.data(), 0, 0);
  std::vector<detail::key_ptr> keys;
  while (!err) {
    gpgme_key_t key = nullptr;
    err = gpgme_op_keylist_next(ctx, &key);
    if (!err) keys.emplace_back(key);
  }
  if (gpgme_err_code(err) != GPG_ERR_EOF) {
    gpgme_op_keylist_end(ctx);
    throw error(error_kind::unavailable, "cannot list keys: " + gpg_error_text(err));
  }
  return keys;
}

void add_key_once(key_selection& selection, const std::string& fingerprint,
                  std::int64_t usable_until) {
  for (const auto& chosen : selection.keys) {
    if (chosen.fingerprint == fingerprint) return;
  }
  selection.keys.push_back(recipient_key{fingerprint, usable_until});
}

key_selection select_keys(gpgme_ctx_t ctx, const std::vector<std::string>& addresses) {
  auto listed = list_local_keys(ctx, addresses);
  key_selection selection;
  for (const auto& address : addresses) {
    bool found = false;
    for (const auto& key : listed) {
      uid_match match = match_user_ids(key.get(), address);
      if (match == uid_match::none) continue;
      // A revoked key marks its user IDs revoked too: name the key's problem first.
      auto problem = key_problem(key.get());
      if (!problem && match == uid_match::unusable) problem = "user ID revoked";
      if (problem) {
        selection.rejected.push_back({address, fingerprint_of(key.get()), *problem});
        continue;
      }
      found = true;
      add_key_once(selection, fingerprint_of(key.get()), earliest_expiry(key.get()));
    }
    if (!found) selection.addresses_without_key.push_back(address);
  }
  return selection;
}

std::string key_selection::describe_missing(const std::string& gnupg_home) const {
  std::string text;
  for (const auto& address : addresses_without_key) {
    if (!text.empty()) text += "; ";
    text += "no usable encryption key for <" + address + "> in " + gnupg_home;
    std::string why;
    for (const auto& r : rejected) {
      if (r.address != address) continue;
      why += (why.empty() ? "" : ", ") + std::string("key 0x") + r.fingerprint + " " + r.reason;
    }
    if (!why.empty()) text += " (" + why + ")";
  }
  return text;
}

}  // namespace gpgseal
