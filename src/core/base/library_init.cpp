#include "core/base/library_init.hpp"

#include <gmime/gmime.h>
#include <gpgme.h>

#include <mutex>

#include "core/error.hpp"

namespace gpgseal {

namespace {

void initialise_once() {
  g_mime_init();
  // Without these GPGME runs gpgconf three times and gpgsm once just to find
  // engines we never use: about 10 ms, more than encrypting a small message.
  gpgme_set_global_flag("disable-gpgconf", "1");
  gpgme_set_global_flag("gpg-name", GPGSEAL_GPG_PATH);
  if (!gpgme_check_version(GPGME_VERSION)) {
    throw error(error_kind::unavailable,
                std::string("GPGME is older than the version gpgseal was built with (") +
                    GPGME_VERSION + ")");
  }
}

}  // namespace

void initialise_libraries() {
  static std::once_flag flag;
  std::call_once(flag, initialise_once);
}

}  // namespace gpgseal
