#include "core/base/library_init.hpp"

#include <gmime/gmime.h>
#include <gpgme.h>

#include <cstdlib>
#include <mutex>

#include "core/error.hpp"

namespace gpgseal {

namespace {

void initialise_once() {
  g_mime_init();
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

// GPGME reads the flag when it first looks for its engines, at the first
// context, not in gpgme_check_version (GPGME 1.18, src/dirinfo.c).
bool select_engines(bool with_cms) {
  static std::once_flag flag;
  static bool cms = false;
  std::call_once(flag, [with_cms] {
    if (!with_cms) {
      gpgme_set_global_flag("disable-gpgconf", "1");
    } else if (::setenv("PATH", "/usr/bin:/bin", 1) != 0) {
      throw error(error_kind::unavailable, "cannot set PATH for gpgconf");
    }
    cms = with_cms;
  });
  return cms;
}

}  // namespace gpgseal
