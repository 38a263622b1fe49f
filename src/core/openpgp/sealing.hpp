// The OpenPGP side of sealing one message: the keyring directory of the
// settings, the keys chosen there for the addresses (remembered or listed),
// and a GPGME context that streams the plaintext to them. The filter composes
// the output message around it and never sees a key or a context, so a
// second protocol (CMS) can stand beside this one behind the same face.
#pragma once

#include <gpgme.h>

#include <functional>
#include <string>
#include <vector>

#include "core/base/byte_stream.hpp"
#include "core/base/deadline.hpp"
#include "core/openpgp/keys.hpp"
#include "core/settings.hpp"

namespace gpgseal::detail {

// Streams `plaintext` to the chosen keys, the ciphertext into `ciphertext`.
using encrypt_function = std::function<void(byte_source& plaintext, byte_sink& ciphertext)>;

// Writes one whole encrypted message, calling `encrypt` for its ciphertext.
// It may be called a second time: when gpg refuses a remembered key, a fresh
// listing decides and the message is written again from the start.
using compose_function = std::function<void(const encrypt_function& encrypt)>;

struct openpgp_result {
  bool sealed = false;      // `compose` ran to the end, to a complete choice of keys
  std::string missing;      // when not sealed: which address has no usable key, and why
  bool no_keyring = false;  // when not sealed: the keyring directory does not exist
  std::string keyring;      // that directory, when no_keyring
  std::vector<std::string> fingerprints;  // when sealed: the keys used
};

// How one protocol lists its keys for the addresses, says why one has none,
// and where its choices are remembered: OpenPGP's keys or CMS's certificates.
struct key_source {
  std::function<key_selection(gpgme_ctx_t, const std::vector<std::string>&)> select;
  std::function<std::string(const key_selection&, const std::string& gnupg_home)> describe_missing;
  const char* cache_file_name;
  // After the engine refused a remembered key, the context must not be used
  // again: GPGME 1.18 crashes in the next CMS key listing on it. The refusal
  // is then thrown (the choice forgotten) for the caller to start afresh.
  bool refusal_ends_the_context = false;
};

// Chooses keys through `source` (remembered, or listed through `ctx`) and runs
// `compose` with them, encrypting through `ctx`. A remembered key the engine
// refuses is forgotten and the keyring listed again (or, with
// `refusal_ends_the_context`, key_refused thrown).
openpgp_result compose_for_chosen_keys(gpgme_ctx_t ctx, const std::string& gnupg_home,
                                       const seal_settings& settings, deadline_watchdog& watchdog,
                                       const compose_function& compose, const key_source& source);

// The keyring directory for `settings`, with a template expanded for the
// first address. Throws error(config) if an expanded part would leave its
// directory.
std::string keyring_directory(const seal_settings& settings);

// Checks the keyring directory (error(config) if another user could have
// planted keys there), chooses the keys of every address, and runs `compose`
// with them. Requires initialise_libraries(). Without a keyring directory at
// all, returns unsealed with `no_keyring`. Without a public keyring, or
// with an address that has no usable key, returns unsealed without starting
// gpg to encrypt. The deadline cancels gpg; errors are thrown as error.
openpgp_result seal_to_openpgp_keys(const seal_settings& settings, deadline_watchdog& watchdog,
                                    const compose_function& compose);

}  // namespace gpgseal::detail
