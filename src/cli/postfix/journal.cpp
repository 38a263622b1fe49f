#include "cli/postfix/journal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>

#include "cli/postfix/spooled_message.hpp"

namespace gpgseal::cli::postfix {

namespace {

constexpr std::time_t max_age_seconds = 30L * 24 * 3600;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string read_small(const std::string& path) {
  owned_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return "";
  char buffer[256];
  ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
}

void write_synced(const std::string& path, const std::string& text) {
  owned_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail("cannot create " + path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd.get()) != 0) {
    fail("cannot write " + path);
  }
}

void sync_dir(const std::string& dir) {
  owned_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) fail("cannot sync " + dir);
}

}  // namespace

reinjection_journal::reinjection_journal(std::string dir, std::string queue_id,
                                         std::string message_sha256, std::string sender_sha256)
    : dir_(std::move(dir)),
      queue_id_(std::move(queue_id)),
      identity_(message_sha256 + " " + sender_sha256 + "\n") {}

std::string reinjection_journal::path_of(const std::string& recipient) const {
  return dir_ + "/" + queue_id_ + "." + sha256_of(recipient);
}

bool reinjection_journal::done(const std::string& recipient) const {
  return enabled() && read_small(path_of(recipient)) == identity_;
}

void reinjection_journal::record(const std::vector<std::string>& recipients) const {
  if (!enabled()) return;
  for (const auto& recipient : recipients) {
    std::string path = path_of(recipient);
    write_synced(path + ".new", identity_);
    if (::rename((path + ".new").c_str(), path.c_str()) != 0) fail("cannot rename to " + path);
  }
  sync_dir(dir_);
}

void reinjection_journal::forget(const std::vector<std::string>& recipients) const noexcept {
  if (!enabled()) return;
  for (const auto& recipient : recipients) ::unlink(path_of(recipient).c_str());
}

void reinjection_journal::prune() const noexcept {
  if (!enabled()) return;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(dir_.c_str()), ::closedir);
  if (!dir) return;
  std::time_t now = std::time(nullptr);
  while (dirent* entry = ::readdir(dir.get())) {
    struct stat st {};
    if (entry->d_name[0] == '.' ||
        ::fstatat(::dirfd(dir.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    if (S_ISREG(st.st_mode) && now - st.st_mtime > max_age_seconds) {
      ::unlinkat(::dirfd(dir.get()), entry->d_name, 0);
    }
  }
}

std::optional<std::string> journal_dir_problem(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::string(std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return std::string("not a directory");
  if (st.st_uid != ::geteuid()) {
    return "owned by uid " + std::to_string(st.st_uid) + ", not by the running uid " +
           std::to_string(::geteuid());
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return std::string("writable by group or others");
  return std::nullopt;
}

std::optional<std::string> queue_id_problem(const std::string& id) {
  if (id.empty() || id.size() > 64) return std::string("use 1 to 64 letters and digits");
  for (unsigned char c : id) {
    if (std::isalnum(c) == 0) return std::string("use only letters and digits");
  }
  return std::nullopt;
}

}  // namespace gpgseal::cli::postfix
