// Chooses the keys a message is encrypted to: for each address, every key in
// the local keyring with a valid user ID whose mailbox is exactly that address
// (ignoring case) and a usable encryption subkey. Never a substring match,
// never a network look-up.
#pragma once

#include <gpgme.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/openpgp/gpgme_handles.hpp"

namespace gpgseal {

struct recipient_key {
  std::string fingerprint;
  // When the key or one of its encryption subkeys expires (seconds since the
  // epoch), or 0 if never: how long a remembered choice of it can stand.
  std::int64_t usable_until = 0;
};

// A key whose user ID matched an address but that cannot be used, and why.
struct rejected_key {
  std::string address;
  std::string fingerprint;
  std::string reason;  // e.g. "expired 2025-01-01"
};

struct key_selection {
  std::vector<recipient_key> keys;  // each key once, in the order found
  std::vector<std::string> addresses_without_key;
  std::vector<rejected_key> rejected;

  [[nodiscard]] bool complete() const noexcept { return addresses_without_key.empty(); }
  // "no usable encryption key for <a@b> in DIR (key 0xFPR expired 2025-01-01)".
  [[nodiscard]] std::string describe_missing(const std::string& gnupg_home) const;
};

// The keys (or certificates, on a CMS context) that GnuPG finds for any of
// the addresses: a superset, since GnuPG matches substrings. Throws
// error(unavailable) if the listing fails.
std::vector<detail::key_ptr> list_keys_matching(gpgme_ctx_t ctx,
                                                const std::vector<std::string>& addresses);

// Appends a key to the selection unless it is there already.
void add_key_once(key_selection& selection, const std::string& fingerprint,
                  std::int64_t usable_until);

// "2025-01-01", in UTC, for messages.
std::string utc_date(long seconds);

// Lists keys through `ctx` (one gpg run for all addresses). Throws
// error(unavailable) if the keyring cannot be read.
key_selection select_keys(gpgme_ctx_t ctx, const std::vector<std::string>& addresses);

}  // namespace gpgseal
