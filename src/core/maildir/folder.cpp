#include "core/maildir/folder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <memory>
#include <set>

#include "core/error.hpp"
#include "core/maildir/name.hpp"

namespace gpgseal {

namespace {

// The Maildir rule (and Dovecot's) for when a file in tmp/ is abandoned.
constexpr std::time_t stale_after_seconds = std::time_t{36} * 60 * 60;

struct dir_closer {
  void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
using dir_ptr = std::unique_ptr<DIR, dir_closer>;

bool is_directory_at(int dir_fd, const char* name) {
  struct stat st {};
  return ::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular_entry(int dir_fd, const dirent& entry) {
  if (entry.d_type == DT_REG) return true;
  if (entry.d_type != DT_UNKNOWN) return false;
  struct stat st {};
  return ::fstatat(dir_fd, entry.d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

// Calls `visit` with each regular file of `dir_fd` whose name does not start
// with '.', until it returns false. Throws error(io) naming `what`.
void for_each_file(int dir_fd, const std::string& what,
                   const std::function<bool(const char*)>& visit) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw system_error("cannot open " + what, errno);
  dir_ptr dir(::fdopendir(fd));
  if (!dir) {
    int saved = errno;
    ::close(fd);
    throw system_error("cannot read " + what, saved);
  }
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) throw system_error("cannot read " + what, errno);
      return;
    }
    if (entry->d_name[0] == '.' || !is_regular_entry(dir_fd, *entry)) continue;
    if (!visit(entry->d_name)) return;
  }
}

unique_fd open_directory_at(int dir_fd, const std::string& name, const std::string& what) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw system_error("cannot open " + what, errno);
  return unique_fd(fd);
}

// Dovecot creates a missing tmp/ itself; we do the same, owned like cur/.
void create_tmp_like_cur(int folder_fd, int cur_fd, const std::string& what) {
  struct stat cur {};
  if (::fstat(cur_fd, &cur) != 0) throw system_error("cannot stat " + what + "/cur", errno);
  if (::mkdirat(folder_fd, "tmp", cur.st_mode & 07777) != 0 && errno != EEXIST) {
    throw system_error("cannot create " + what + "/tmp", errno);
  }
  unique_fd tmp = open_directory_at(folder_fd, "tmp", what + "/tmp");
  if (::fchown(tmp.get(), cur.st_uid, cur.st_gid) != 0 && errno != EPERM) {
    throw system_error("cannot give " + what + "/tmp the owner of cur/", errno);
  }
}

bool has_cur_and_new(int dir_fd) {
  return is_directory_at(dir_fd, "cur") && is_directory_at(dir_fd, "new");
}

bool process_is_gone(long pid) { return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

}  // namespace

const char* subdir_name(maildir_subdir subdir) noexcept {
  switch (subdir) {
    case maildir_subdir::cur:
      return "cur";
    case maildir_subdir::new_:
      return "new";
    case maildir_subdir::tmp:
      return "tmp";
  }
  return "?";
}

std::vector<std::string> find_maildir_folders(const std::string& root, bool recurse) {
  unique_fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd && (errno == ENOENT || errno == ENOTDIR)) {
    // Most likely a mistyped argument, not an I/O failure.
    throw error(error_kind::bad_target,
                "cannot open the Maildir " + root + ": " + std::strerror(errno));
  }
  if (!root_fd) throw system_error("cannot open the Maildir " + root, errno);
  if (!has_cur_and_new(root_fd.get())) {
    throw error(error_kind::bad_target, root + " is not a Maildir: it has no cur/ and new/");
  }
  std::vector<std::string> folders;
  if (recurse) {
    dir_ptr dir(::fdopendir(::dup(root_fd.get())));
    if (!dir) throw system_error("cannot read the Maildir " + root, errno);
    while (const dirent* entry = ::readdir(dir.get())) {
      std::string name = entry->d_name;
      if (name.size() < 2 || name[0] != '.' || name == "..") continue;
      if (!is_directory_at(root_fd.get(), name.c_str())) continue;
      int sub = ::openat(root_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sub < 0) continue;
      if (has_cur_and_new(unique_fd(sub).get())) folders.push_back(root + "/" + name);
    }
    std::sort(folders.begin(), folders.end());
  }
  folders.insert(folders.begin(), root);
  return folders;
}

std::size_t count_message_files(const std::string& folder) {
  std::size_t count = 0;
  for (const char* subdir : {"/cur", "/new"}) {
    unique_fd fd(::open((folder + subdir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) continue;
    try {
      for_each_file(fd.get(), folder + subdir, [&](const char*) { return ++count, true; });
    } catch (const error&) {
      // Only an estimate for the progress bar; the real listing reports errors.
    }
  }
  return count;
}

maildir_folder::maildir_folder(const std::string& path, bool create_tmp) : path_(path) {
  folder_ = unique_fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!folder_) throw system_error("cannot open the Maildir folder " + path, errno);
  cur_ = open_directory_at(folder_.get(), "cur", path + "/cur");
  new_ = open_directory_at(folder_.get(), "new", path + "/new");
  if (create_tmp && !is_directory_at(folder_.get(), "tmp")) {
    create_tmp_like_cur(folder_.get(), cur_.get(), path);
  }
  if (is_directory_at(folder_.get(), "tmp") || create_tmp) {
    tmp_ = open_directory_at(folder_.get(), "tmp", path + "/tmp");
  }
}

int maildir_folder::fd(maildir_subdir subdir) const noexcept {
  switch (subdir) {
    case maildir_subdir::cur:
      return cur_.get();
    case maildir_subdir::new_:
      return new_.get();
    case maildir_subdir::tmp:
      return tmp_.get();
  }
  return -1;
}

std::string maildir_folder::path_of(const message_file& file) const {
  return path_ + "/" + subdir_name(file.subdir) + "/" + file.name;
}

bool maildir_folder::try_lock() {
  if (::flock(folder_.get(), LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  throw system_error("cannot lock the Maildir folder " + path_, errno);
}

std::vector<message_file> maildir_folder::list_messages() const {
  std::vector<message_file> files;
  std::set<std::string, std::less<>> keys;
  for (maildir_subdir subdir : {maildir_subdir::cur, maildir_subdir::new_}) {
    for_each_file(fd(subdir), path_ + "/" + subdir_name(subdir), [&](const char* name) {
      if (keys.emplace(maildir_key(name)).second) files.push_back({subdir, name});
      return true;
    });
  }
  return files;
}

std::optional<message_file> maildir_folder::locate(std::string_view key) const {
  std::optional<message_file> found;
  for (maildir_subdir subdir : {maildir_subdir::cur, maildir_subdir::new_}) {
    for_each_file(fd(subdir), path_ + "/" + subdir_name(subdir), [&](const char* name) {
      if (maildir_key(name) == key) found = message_file{subdir, name};
      return !found;
    });
    if (found) break;
  }
  return found;
}

void maildir_folder::sync(maildir_subdir subdir) const {
  if (::fsync(fd(subdir)) != 0) {
    throw system_error(std::string("cannot sync ") + path_ + "/" + subdir_name(subdir), errno);
  }
}

std::size_t remove_stale_temp_files(const maildir_folder& folder, std::string_view own_host,
                                    long own_pid, std::time_t now) {
  if (folder.fd(maildir_subdir::tmp) < 0) return 0;
  std::vector<std::string> stale;
  for_each_file(folder.fd(maildir_subdir::tmp), folder.path() + "/tmp", [&](const char* name) {
    auto origin = parse_temp_file_name(name);
    if (!origin) return true;
    bool ours_and_dead =
        origin->host == own_host && origin->pid != own_pid && process_is_gone(origin->pid);
    if (ours_and_dead || now - origin->seconds > stale_after_seconds) stale.emplace_back(name);
    return true;
  });
  std::size_t removed = 0;
  for (const auto& name : stale) {
    if (::unlinkat(folder.fd(maildir_subdir::tmp), name.c_str(), 0) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      throw system_error("cannot remove " + folder.path() + "/tmp/" + name, errno);
    }
  }
  return removed;
}

}  // namespace gpgseal
