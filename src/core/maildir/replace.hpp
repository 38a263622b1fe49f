// Replaces one message file by a new version so that at no instant is the
// message missing, and a crash at any point leaves at worst both versions:
// write into tmp/, give the file the original's mode, owner and times (the
// mtime is the IMAP INTERNALDATE), fsync, rename into the original's directory
// under a name that cannot clobber anything, fsync the directory, and only
// then unlink the original.
//
// Dovecot renames a message file under us on a flag change (or a move from
// new/ to cur/) and deletes it on an expunge. A renamed original is followed
// by its key, and the new version takes its latest flags and directory, so
// no flag change is lost; an original that is gone takes the new version with
// it, so that an expunged message does not come back. Nothing is duplicated.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/base/fd_io.hpp"
#include "core/maildir.hpp"
#include "core/maildir/folder.hpp"
#include "core/maildir/name.hpp"

namespace gpgseal {

// Unique tmp/ names for this process: `<time>.M<usec>P<pid>Q<n>.gpgseal.<host>`.
class temp_namer {
 public:
  temp_namer(std::string escaped_host, long pid);
  std::string next();
  [[nodiscard]] const std::string& host() const noexcept { return host_; }
  [[nodiscard]] long pid() const noexcept { return pid_; }

 private:
  std::string host_;
  long pid_;
  std::atomic<std::uint64_t> counter_{0};
};

// This host's name, escaped for Maildir names. Throws error(io).
std::string maildir_host_name();

// A new, empty file in a folder's tmp/, removed again when destroyed unless
// it was renamed into place.
class maildir_temp_file {
 public:
  // Creates it mode 0600 with O_EXCL. Throws error(io).
  maildir_temp_file(const maildir_folder& folder, temp_namer& namer);
  ~maildir_temp_file();
  maildir_temp_file(const maildir_temp_file&) = delete;
  maildir_temp_file& operator=(const maildir_temp_file&) = delete;

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  // The file has been renamed away: nothing to remove any more.
  void forget() noexcept { name_.clear(); }

 private:
  const maildir_folder& folder_;
  std::string name_;
  unique_fd fd_;
};

// The file that is being replaced, as it was when it was opened.
struct original_message {
  message_file file;
  struct stat st {};
};

// Points between the steps, for tests that simulate a crash or a concurrent
// change there.
enum class replace_result {
  replaced,               // the new version is in place and the original is gone
  replaced_after_rename,  // the same, with the flags the original got meanwhile
  original_changed,       // the original was removed or replaced meanwhile; nothing changed
};

// Sizes of the complete temp file: S= and W= for its name. Throws error(io).
struct file_sizes {
  std::uint64_t size = 0;
  std::uint64_t virtual_size = 0;
};
file_sizes measure(int fd);

// Performs the whole replacement described above with `temp` becoming
// `new_name` (in the original's directory). Throws error(io) if a step fails;
// the original is then intact. Only a failing fsync of the directory after
// the rename can leave the new version beside it: the state a crash there
// leaves, which the next run settles (maildir_leftovers.hpp).
replace_result replace_message(const maildir_folder& folder, maildir_temp_file& temp,
                               const original_message& original, const maildir_name& new_name,
                               const replace_hook& hook);

// Removes a message file, and fsyncs its directory. False if it was no longer
// there. Throws error(io).
bool remove_message(const maildir_folder& folder, const message_file& file);

}  // namespace gpgseal
