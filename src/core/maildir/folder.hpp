// One Maildir folder on disk: finding the folders of a Maildir++ tree,
// descriptors for cur/, new/ and tmp/, the message files in cur/ and new/
// (selected by name, nothing else in the folder is ever looked at), an
// exclusive lock against a second gpgseal-maildir, and the leftovers of our
// own crashed runs in tmp/.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/fd_io.hpp"

namespace gpgseal {

enum class maildir_subdir { cur, new_, tmp };

const char* subdir_name(maildir_subdir subdir) noexcept;

// A message file: which of cur/ and new/ it is in, and its name there.
struct message_file {
  maildir_subdir subdir = maildir_subdir::cur;
  std::string name;
};

// The folders to work on: `root` itself, then (when `recurse`) each Maildir++
// subfolder `root/.NAME` that is a real directory (not a symlink) holding cur/
// and new/, sorted by name. Throws error(usage) if `root` has no cur/ and new/.
std::vector<std::string> find_maildir_folders(const std::string& root, bool recurse);

// The number of message files in cur/ and new/ of `folder`, 0 if unreadable:
// only an estimate for progress, taken before any work starts.
std::size_t count_message_files(const std::string& folder);

class maildir_folder {
 public:
  // Opens cur/, new/ and tmp/ of `path`. If tmp/ is missing and `create_tmp`,
  // creates it with cur/'s mode and owner, as Dovecot does. Throws error(io).
  maildir_folder(const std::string& path, bool create_tmp);

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] int fd(maildir_subdir subdir) const noexcept;
  [[nodiscard]] std::string path_of(const message_file& file) const;

  // Takes an exclusive, non-blocking flock on the folder directory; false if
  // another process holds it. Released when the folder is destroyed.
  bool try_lock();

  // The message files of cur/ then new/: regular files whose names do not
  // start with '.'. A key seen twice (Dovecot moving new/ to cur/ during the
  // listing) is listed once. Throws error(io).
  [[nodiscard]] std::vector<message_file> list_messages() const;

  // Where the message with this key (the name before ':') is now, after a
  // rename by Dovecot (flag change, new/ to cur/); nullopt if it is gone.
  [[nodiscard]] std::optional<message_file> locate(std::string_view key) const;

  // fsyncs the directory, so that a rename or unlink in it is durable.
  void sync(maildir_subdir subdir) const;

 private:
  std::string path_;
  unique_fd folder_;
  unique_fd cur_;
  unique_fd new_;
  unique_fd tmp_;
};

// Removes files in tmp/ that a gpgseal-maildir run left when it was killed:
// names made by temp_file_name() whose process (on this host) is gone, or that
// are older than 36 hours (the Maildir rule for stale tmp/ files). Returns
// the number removed. Other files in tmp/ are never touched.
std::size_t remove_stale_temp_files(const maildir_folder& folder, std::string_view own_host,
                                    long own_pid, std::time_t now);

}  // namespace gpgseal
