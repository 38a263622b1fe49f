// Remembers, in the keyring directory, which keys a listing chose for which
// addresses, so that a delivery to a known user needs one gpg run (the
// encryption) instead of two. Listing costs about as much as encrypting a
// small message.
//
// A remembered choice stands only while every keyring file is exactly as it
// was before that listing (device, inode, size, modification and change
// times), until the first selected key or encryption subkey expires, and for
// an hour at most. The file is read only if this uid owns it and nobody else
// can write it, like the directory itself: whoever can write there can
// replace the keyring anyway. A cache that cannot be read or written is
// ignored; it never decides whether a message is encrypted, only how fast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/openpgp/keys.hpp"

namespace gpgseal {

// The cache file's name inside the keyring directory. The choices of
// certificates (S/MIME) have a file of their own, so that each protocol's
// choice stands or falls alone.
inline constexpr const char* key_cache_file_name = "gpgseal-keycache";
inline constexpr const char* certificate_cache_file_name = "gpgseal-keycache-cms";

// The longest a remembered choice stands, in seconds.
inline constexpr std::int64_t key_cache_max_age = 3600;

struct key_cache_entry {
  std::vector<std::string> addresses;  // as given, compared ignoring ASCII case
  std::vector<std::string> fingerprints;
  std::int64_t valid_until = 0;  // seconds since the epoch
};

struct key_cache {
  std::string keyring_state;  // observe_keyring() when the entries were listed
  std::vector<key_cache_entry> entries;
};

// The keyring files' identities and times, as one comparable text.
std::string observe_keyring(const std::string& gnupg_home);

// The serialised form; parse returns nullopt for anything not exactly as
// format writes it.
std::string format_key_cache(const key_cache& cache);
std::optional<key_cache> parse_key_cache(std::string_view text);

// The fingerprints remembered for exactly these addresses, if that choice
// still stands at `now`.
std::optional<std::vector<recipient_key>> recall_keys(const std::string& gnupg_home,
                                                      const std::vector<std::string>& addresses,
                                                      std::int64_t now,
                                                      const char* file_name = key_cache_file_name);

// Remembers a complete selection made from a keyring that looked like
// `state_before_listing`, unless a keyring file changed in the last two
// seconds (its times could then hide the next change). Failures are ignored.
void remember_keys(const std::string& gnupg_home, const std::string& state_before_listing,
                   const std::vector<std::string>& addresses, const key_selection& selection,
                   std::int64_t now, const char* file_name = key_cache_file_name);

// Drops every remembered choice. Failures are ignored.
void forget_keys(const std::string& gnupg_home, const char* file_name = key_cache_file_name);

}  // namespace gpgseal
