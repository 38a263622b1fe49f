// Temporary Maildirs for the gpgseal-maildir tests: folders with cur/, new/
// and tmp/, message files with chosen names, modes and mtimes, Dovecot's own
// files beside them, and a snapshot of everything on disk to prove what a run
// did not touch. Header-only, shared by the unit and the CLI tests.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace gpgseal::test {

// One file (or directory or symlink) as the run must leave it, if untouched.
struct file_state {
  std::string bytes;  // "" for directories, the target for symlinks
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  ino_t inode = 0;
  std::time_t mtime = 0;
  long mtime_nsec = 0;

  bool operator==(const file_state& o) const {
    return bytes == o.bytes && mode == o.mode && uid == o.uid && gid == o.gid && inode == o.inode &&
           mtime == o.mtime && mtime_nsec == o.mtime_nsec;
  }
  bool operator!=(const file_state& o) const { return !(*this == o); }
};

inline file_state state_of(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path);
  file_state s;
  if (S_ISREG(st.st_mode)) s.bytes = read_file(path);
  if (S_ISLNK(st.st_mode)) s.bytes = std::filesystem::read_symlink(path).string();
  s.mode = st.st_mode;
  s.uid = st.st_uid;
  s.gid = st.st_gid;
  s.inode = st.st_ino;
  s.mtime = st.st_mtim.tv_sec;
  s.mtime_nsec = st.st_mtim.tv_nsec;
  return s;
}

// A small message whose body lines are long enough for round_trips() to see
// them in clear; `tag` makes each one different.
inline std::string maildir_message(const std::string& tag) {
  return "From: Sender <sender@example.net>\n"
         "To: Alice <alice@example.org>\n"
         "Subject: Stored message " +
         tag +
         "\n"
         "Date: Mon, 03 Mar 2025 10:00:00 +0000\n"
         "Message-ID: <" +
         tag +
         "@example.net>\n"
         "\n"
         "This stored message was delivered before the filter was turned on.\n"
         "Its tag is " +
         tag + " and it must come back byte for byte.\n";
}

class temp_maildir {
 public:
  temp_maildir() : root_(make_temp_dir() + "/Maildir") { add_folder(""); }
  ~temp_maildir() { remove_tree(std::filesystem::path(root_).parent_path().string()); }
  temp_maildir(const temp_maildir&) = delete;
  temp_maildir& operator=(const temp_maildir&) = delete;

  const std::string& root() const noexcept { return root_; }

  // "" is the root folder; ".Sent" a Maildir++ subfolder.
  std::string folder(const std::string& name) const {
    return name.empty() ? root_ : root_ + "/" + name;
  }

  void add_folder(const std::string& name) {
    for (const char* sub : {"", "/cur", "/new", "/tmp"}) {
      std::filesystem::create_directories(folder(name) + sub);
    }
  }

  // Writes a message file: `subdir` is "cur" or "new". Returns its path.
  std::string add(const std::string& folder_name, const std::string& subdir,
                  const std::string& file_name, const std::string& bytes,
                  std::time_t mtime = 1500000000) {
    std::string path = folder(folder_name) + "/" + subdir + "/" + file_name;
    write_file(path, bytes);
    set_mtime(path, mtime);
    return path;
  }

  static void set_mtime(const std::string& path, std::time_t mtime) {
    const timespec times[2] = {{mtime, 0}, {mtime, 123456789}};
    if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      throw std::runtime_error("cannot set the mtime of " + path);
    }
  }

  // The file names in one directory of a folder, sorted.
  std::vector<std::string> names(const std::string& folder_name, const std::string& subdir) const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(folder(folder_name) + "/" + subdir)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Every path under the Maildir with its state, directories' mtimes aside.
  std::map<std::string, file_state> snapshot() const {
    std::map<std::string, file_state> all;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root_)) {
      file_state s = state_of(e.path().string());
      if (S_ISDIR(s.mode)) s.mtime = s.mtime_nsec = 0;
      all.emplace(e.path().string(), s);
    }
    return all;
  }

 private:
  std::string root_;
};

}  // namespace gpgseal::test
