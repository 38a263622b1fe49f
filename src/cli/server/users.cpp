#include "cli/server/users.hpp"

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "cli/common/options.hpp"
#include "cli/common/usage.hpp"

namespace gpgseal::cli {

namespace {

bool is_directory(const std::string& path, struct stat* st = nullptr) {
  struct stat local {};
  struct stat* out = st ? st : &local;
  return ::stat(path.c_str(), out) == 0 && S_ISDIR(out->st_mode);
}

std::vector<std::string> subdirectories(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name.empty() || name[0] == '.') continue;
    if (is_directory(dir + "/" + name)) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

using bindings = std::map<char, std::string>;

// Walks the template one component at a time, %d and %n matching any
// directory name.
void walk(const std::vector<std::string>& parts, std::size_t i, const std::string& dir,
          bindings bound, std::vector<std::pair<std::string, bindings>>& found) {
  if (i == parts.size()) {
    found.emplace_back(dir, bound);
    return;
  }
  const std::string& part = parts[i];
  if (part == "%d" || part == "%n") {
    for (const auto& name : subdirectories(dir.empty() ? "/" : dir)) {
      bound[part[1]] = name;
      walk(parts, i + 1, dir + "/" + name, bound, found);
    }
  } else if (is_directory(dir + "/" + part)) {
    walk(parts, i + 1, dir + "/" + part, bound, found);
  }
}

}  // namespace

std::vector<mail_user> system_users(const std::string& domain, uid_t min_uid) {
  std::vector<mail_user> users;
  ::setpwent();
  while (struct passwd* entry = ::getpwent()) {
    if (entry->pw_uid < min_uid || entry->pw_uid >= 65534 || !entry->pw_dir) continue;
    if (!is_directory(entry->pw_dir)) continue;
    users.push_back({completed_address(entry->pw_name, domain),
                     {entry->pw_name, entry->pw_uid, entry->pw_gid, entry->pw_dir}});
  }
  ::endpwent();
  std::sort(users.begin(), users.end(),
            [](const mail_user& a, const mail_user& b) { return a.address < b.address; });
  return users;
}

std::vector<mail_user> template_users(const std::string& home_template) {
  auto parts = components(home_template);
  bool absolute = !home_template.empty() && home_template[0] == '/';
  bool has_d = std::count(parts.begin(), parts.end(), "%d") == 1;
  bool has_n = std::count(parts.begin(), parts.end(), "%n") == 1;
  bool stray = std::any_of(parts.begin(), parts.end(), [](const std::string& p) {
    return p != "%d" && p != "%n" && p.find('%') != std::string::npos;
  });
  if (!absolute || !has_d || !has_n || stray) {
    throw usage_error("--home-template " + home_template +
                      ": use an absolute path with %d and %n once each, each a whole "
                      "directory name (e.g. /var/vmail/%d/%n)");
  }
  std::vector<std::pair<std::string, bindings>> found;
  walk(parts, 0, "", {}, found);
  std::vector<mail_user> users;
  for (const auto& [dir, bound] : found) {
    struct stat st {};
    if (!is_directory(dir, &st)) continue;
    unix_account account{std::to_string(st.st_uid), st.st_uid, st.st_gid, dir};
    if (auto entry = account_of_uid(st.st_uid)) {
      account.name = entry->name;
      account.gid = entry->gid;
    }
    users.push_back({bound.at('n') + "@" + bound.at('d'), account});
  }
  return users;
}

}  // namespace gpgseal::cli
