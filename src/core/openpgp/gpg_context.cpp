#include "core/openpgp/gpg_context.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/base/library_init.hpp"
#include "core/error.hpp"

namespace gpgseal {

std::string gpg_error_text(gpgme_error_t err) {
  return std::string(gpgme_strsource(err)) + ": " + gpgme_strerror(err);
}

namespace {

void check(gpgme_error_t err, const std::string& what) {
  if (err) throw error(error_kind::unavailable, what + ": " + gpg_error_text(err));
}

bool same_directory(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace

detail::context_ptr make_gpg_context(const std::string& gnupg_home,
                                     const std::string& engine_default_home) {
  select_engines(false);  // unless the caller chose CMS too
  gpgme_ctx_t raw = nullptr;
  check(gpgme_new(&raw), "cannot create a GPGME context");
  detail::context_ptr ctx(raw);
  check(gpgme_set_protocol(ctx.get(), GPGME_PROTOCOL_OpenPGP), "cannot select OpenPGP");
  // Setting the directory makes GPGME run `gpg --version` once more, for
  // every context: a few milliseconds, a sixth of a small message's time.
  if (!same_directory(gnupg_home, engine_default_home)) {
    check(gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_OpenPGP, nullptr, gnupg_home.c_str()),
          "cannot use keyring directory " + gnupg_home);
  }
  gpgme_set_armor(ctx.get(), 1);
  check(gpgme_set_keylist_mode(ctx.get(), GPGME_KEYLIST_MODE_LOCAL), "cannot set key list mode");
  check(gpgme_set_ctx_flag(ctx.get(), "trust-model", "always"), "cannot set the trust model");
  return ctx;
}

std::string gpg_diagnostics(gpgme_ctx_t ctx) {
  gpgme_data_t raw = nullptr;
  if (gpgme_data_new(&raw)) return "";
  detail::data_ptr data(raw);
  if (gpgme_op_getauditlog(ctx, data.get(), GPGME_AUDITLOG_DIAG)) return "";
  std::string text;
  gpgme_data_seek(data.get(), 0, SEEK_SET);
  std::array<char, 4096> buffer{};
  ssize_t n = 0;
  while ((n = gpgme_data_read(data.get(), buffer.data(), buffer.size())) > 0) {
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return text;
}

// gpg 2.2's words for a keyring it could not read. Anything else on its
// stderr, "error opening lockfile" while another delivery holds the lock
// included, is not a reason to call the keyring broken.
bool reports_unreadable_keyring(const std::string& line) {
  static const char* const failures[] = {"keydb_search failed", "keydb_get_keyblock failed",
                                         "error reading key:",  "invalid packet",
                                         "keyblock resource",   "read error"};
  for (const char* lock_message : {"lockfile", "waiting for lock", "lock failed"}) {
    if (line.find(lock_message) != std::string::npos) return false;
  }
  // "error reading key: No public key" is how gpg says a pattern matched nothing.
  if (line.find("No public key") != std::string::npos) return false;
  for (const char* failure : failures) {
    if (line.find(failure) != std::string::npos) return true;
  }
  return false;
}

std::string gpg_error_lines(const std::string& diagnostics) {
  std::istringstream lines(diagnostics);
  std::string joined;
  for (std::string line; std::getline(lines, line);) {
    if (reports_unreadable_keyring(line)) joined += (joined.empty() ? "" : "; ") + line;
  }
  return joined;
}

}  // namespace gpgseal
