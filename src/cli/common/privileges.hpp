// Running as a mail user: an admin runs the batch tools as root, and each
// user's mail and keyring are then handled with that user's uid, gid and
// groups only, as Dovecot's delivery does. Root never touches a user's files.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace gpgseal::cli {

struct unix_account {
  std::string name;  // the login, or the uid as text for a uid without a passwd entry
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

// The password database entry of `uid`, if any.
std::optional<unix_account> account_of_uid(uid_t uid);

// Becomes `account` for good: supplementary groups, gid, uid (in that order),
// then HOME and USER, and GNUPGHOME unset. Fails if root could be regained.
// Throws gpgseal::error naming the account.
void become(const unix_account& account);

}  // namespace gpgseal::cli
