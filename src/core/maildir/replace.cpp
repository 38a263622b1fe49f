#include "core/maildir/replace.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <optional>

#include "core/error.hpp"

namespace gpgseal {

namespace {

// How often the original may be renamed under us between our rename into
// place and our unlink before we give up (and take our copy back out).
constexpr int max_follows = 8;

// renameat2(RENAME_NOREPLACE) is atomic and never clobbers an existing file;
// where the file system lacks it, link + unlink gives the same guarantees
// (the Maildir specification's own way of moving out of tmp/). Returns 0 or
// the errno of the failure.
int rename_no_replace(int from_dir, const std::string& from, int to_dir, const std::string& to) {
  if (::renameat2(from_dir, from.c_str(), to_dir, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::linkat(from_dir, from.c_str(), to_dir, to.c_str(), 0) != 0) return errno;
  if (::unlinkat(from_dir, from.c_str(), 0) != 0 && errno != ENOENT) return errno;
  return 0;
}

// Mode, owner and times, before the file gets its final name: a reader must
// never see it with the wrong INTERNALDATE or readable by the wrong user.
void copy_attributes(int fd, const struct stat& original, const std::string& what) {
  struct stat now {};
  if (::fstat(fd, &now) != 0) throw system_error("cannot stat " + what, errno);
  if ((now.st_uid != original.st_uid || now.st_gid != original.st_gid) &&
      ::fchown(fd, original.st_uid, original.st_gid) != 0) {
    throw system_error("cannot give " + what + " the original's owner", errno);
  }
  // After fchown, which may clear set-id bits.
  if (::fchmod(fd, original.st_mode & 07777) != 0) {
    throw system_error("cannot give " + what + " the original's mode", errno);
  }
  const std::array<timespec, 2> times = {original.st_atim, original.st_mtim};
  if (::futimens(fd, times.data()) != 0) {
    throw system_error("cannot give " + what + " the original's times", errno);
  }
  if (::fsync(fd) != 0) throw system_error("cannot sync " + what, errno);
}

bool same_place(const message_file& a, const message_file& b) {
  return a.subdir == b.subdir && a.name == b.name;
}

// Whether `file` is still the very file we encrypted (same inode).
bool holds_original(const maildir_folder& folder, const message_file& file,
                    const struct stat& original) {
  struct stat st {};
  if (::fstatat(folder.fd(file.subdir), file.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    throw system_error("cannot stat " + folder.path_of(file), errno);
  }
  return st.st_dev == original.st_dev && st.st_ino == original.st_ino;
}

// Where the original is now. A flag change or a move from new/ to cur/ keeps
// its key (the name before ':'); nullopt if it is gone or is another file.
std::optional<message_file> follow(const maildir_folder& folder, const original_message& original,
                                   const message_file& last_seen) {
  if (holds_original(folder, last_seen, original.st)) return last_seen;
  auto found = folder.locate(maildir_key(original.file.name));
  if (!found || !holds_original(folder, *found, original.st)) return std::nullopt;
  return found;
}

// Our copy's place: the original's directory and flags under the new key.
message_file aligned(maildir_name name, const message_file& original_now) {
  name.info = parse_maildir_name(original_now.name).info;
  return {original_now.subdir, name.full()};
}

// Renames our copy to `target` (the original's current flags and directory),
// following it if Dovecot renamed it meanwhile. nullopt if it is gone (a
// client expunged it).
std::optional<message_file> realign(const maildir_folder& folder, message_file placed,
                                    const message_file& target) {
  for (int round = 0; round < max_follows && !same_place(placed, target); ++round) {
    int err = rename_no_replace(folder.fd(placed.subdir), placed.name, folder.fd(target.subdir),
                                target.name);
    // EEXIST: Dovecot already gave our copy (its key is unique) these flags.
    if (err == 0 || err == EEXIST) {
      folder.sync(target.subdir);
      return target;
    }
    if (err != ENOENT) throw system_error("cannot rename " + folder.path_of(placed), err);
    auto moved = folder.locate(maildir_key(placed.name));
    if (!moved) return std::nullopt;
    placed = *moved;
  }
  return placed;
}

// Takes our copy back out, wherever Dovecot may have renamed it meanwhile.
void withdraw(const maildir_folder& folder, const message_file& placed) {
  if (remove_message(folder, placed)) return;
  if (auto moved = folder.locate(maildir_key(placed.name))) remove_message(folder, *moved);
}

// Unlinks the original, following it through renames by Dovecot and giving
// our copy its latest flags each time, so that no flag change is lost.
replace_result remove_original(const maildir_folder& folder, const original_message& original,
                               message_file current, message_file placed,
                               const maildir_name& new_name) {
  bool followed = false;
  for (int round = 0; round < max_follows; ++round) {
    if (::unlinkat(folder.fd(current.subdir), current.name.c_str(), 0) == 0) {
      folder.sync(current.subdir);
      return followed ? replace_result::replaced_after_rename : replace_result::replaced;
    }
    if (errno != ENOENT) {
      int saved = errno;
      withdraw(folder, placed);
      throw system_error("cannot remove the original " + folder.path_of(current), saved);
    }
    auto now = follow(folder, original, current);
    if (!now) break;  // expunged: our copy must not bring it back
    auto copy = realign(folder, placed, aligned(new_name, *now));
    if (!copy) return replace_result::original_changed;  // keep the original as it is
    current = *now;
    placed = *copy;
    followed = true;
  }
  withdraw(folder, placed);
  return replace_result::original_changed;
}

}  // namespace

temp_namer::temp_namer(std::string escaped_host, long pid)
    : host_(std::move(escaped_host)), pid_(pid) {}

std::string temp_namer::next() {
  timeval now{};
  ::gettimeofday(&now, nullptr);
  return temp_file_name(now.tv_sec, static_cast<long>(now.tv_usec), pid_, counter_++, host_);
}

std::string maildir_host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) {
    throw system_error("cannot get the host name", errno);
  }
  return escape_host(name.data());
}

maildir_temp_file::maildir_temp_file(const maildir_folder& folder, temp_namer& namer)
    : folder_(folder) {
  for (int attempt = 0; attempt < 10 && !fd_; ++attempt) {
    name_ = namer.next();
    int fd = ::openat(folder.fd(maildir_subdir::tmp), name_.c_str(),
                      O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR);
    if (fd >= 0) {
      fd_ = unique_fd(fd);
    } else if (errno != EEXIST) {
      name_.clear();
      throw system_error("cannot create a file in " + folder.path() + "/tmp", errno);
    }
  }
  if (!fd_) {
    name_.clear();
    throw error(error_kind::io, "cannot find a free file name in " + folder.path() + "/tmp");
  }
}

maildir_temp_file::~maildir_temp_file() {
  // Nothing to report to: a leftover is removed by the next run anyway.
  if (!name_.empty()) ::unlinkat(folder_.fd(maildir_subdir::tmp), name_.c_str(), 0);
}

file_sizes measure(int fd) {
  std::array<char, 65536> buffer{};
  bare_lf_counter lfs;
  file_sizes sizes;
  for (;;) {
    std::size_t got = pread_full(fd, buffer.data(), buffer.size(), sizes.size);
    if (got == 0) break;
    lfs.add(buffer.data(), got);
    sizes.size += got;
  }
  sizes.virtual_size = sizes.size + lfs.count();
  return sizes;
}

bool remove_message(const maildir_folder& folder, const message_file& file) {
  if (::unlinkat(folder.fd(file.subdir), file.name.c_str(), 0) != 0) {
    if (errno == ENOENT) return false;
    throw system_error("cannot remove " + folder.path_of(file), errno);
  }
  folder.sync(file.subdir);
  return true;
}

replace_result replace_message(const maildir_folder& folder, maildir_temp_file& temp,
                               const original_message& original, const maildir_name& new_name,
                               const replace_hook& hook) {
  const std::string original_path = folder.path_of(original.file);
  copy_attributes(temp.fd(), original.st, "the new version of " + original_path);
  if (hook) {
    hook(replace_step::temp_synced, original_path,
         folder.path_of(aligned(new_name, original.file)));
  }
  auto now = follow(folder, original, original.file);
  if (!now) return replace_result::original_changed;
  const message_file placed = aligned(new_name, *now);
  if (int err = rename_no_replace(folder.fd(maildir_subdir::tmp), temp.name(),
                                  folder.fd(placed.subdir), placed.name)) {
    throw system_error("cannot rename the new version into " + folder.path_of(placed), err);
  }
  temp.forget();
  folder.sync(placed.subdir);
  if (hook) hook(replace_step::renamed, folder.path_of(*now), folder.path_of(placed));
  replace_result result = remove_original(folder, original, *now, placed, new_name);
  if (result == replace_result::replaced && !same_place(*now, original.file)) {
    return replace_result::replaced_after_rename;
  }
  return result;
}

}  // namespace gpgseal
