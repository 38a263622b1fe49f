#include "cli/common/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/error.hpp"

namespace gpgseal::cli {

std::optional<unix_account> account_of_uid(uid_t uid) {
  struct passwd* entry = ::getpwuid(uid);
  if (entry == nullptr) return std::nullopt;
  return unix_account{entry->pw_name, entry->pw_uid, entry->pw_gid,
                      entry->pw_dir ? entry->pw_dir : ""};
}

void become(const unix_account& account) {
  auto refuse = [&](const std::string& what) {
    throw system_error(
        "cannot run as " + account.name + " (uid " + std::to_string(account.uid) + "): " + what,
        errno);
  };
  if (account.uid == 0) {
    errno = EPERM;
    refuse("refusing to handle a user's mail as root");
  }
  // A uid without a passwd entry gets no supplementary groups at all.
  int groups = ::getpwuid(account.uid) ? ::initgroups(account.name.c_str(), account.gid)
                                       : ::setgroups(0, nullptr);
  if (groups != 0) refuse("setting the groups");
  if (::setgid(account.gid) != 0) refuse("setgid");
  if (::setuid(account.uid) != 0) refuse("setuid");
  if (::setuid(0) == 0) {
    errno = EPERM;
    refuse("root could be regained");
  }
  ::setenv("HOME", account.home.c_str(), 1);
  ::setenv("USER", account.name.c_str(), 1);
  ::unsetenv("GNUPGHOME");
}

}  // namespace gpgseal::cli
