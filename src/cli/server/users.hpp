// The mail users of a whole server: system users from the password database
// (a uid and home each; addresses login@DOMAIN), or virtual users found as the
// directories a home template such as /var/vmail/%d/%n names (the address is
// %n@%d; they run as the uid that owns the directory, e.g. vmail).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "cli/common/privileges.hpp"

namespace gpgseal::cli {

struct mail_user {
  std::string address;
  unix_account account;  // who the user's files are handled as; home = the user's home
};

// Every password database entry with min_uid <= uid < 65534 (nobody) whose
// home is a directory, as login@domain.
std::vector<mail_user> system_users(const std::string& domain, uid_t min_uid);

// Every directory that `home_template` names, where %d is a domain and %n a
// local part, each a whole path component (e.g. /var/vmail/%d/%n). Entries
// starting with '.' are not users. Throws usage_error for a bad template.
std::vector<mail_user> template_users(const std::string& home_template);

}  // namespace gpgseal::cli
