#include "core/maildir/message.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "core/maildir/name.hpp"
#include "core/mime/detect.hpp"
#include "core/mime/header_scan.hpp"

namespace gpgseal::detail {

namespace {

// A message renamed this often while we work on it is left for the next run.
constexpr int max_attempts = 4;
// A failing encryption is tried this often in all before it counts.
constexpr int max_filter_tries = 3;

// One attempt either settles the message or finds it moved.
struct attempt {
  bool moved = false;
  message_result result = message_result::failed;
  std::string detail;
  bool followed = false;  // replaced after following a rename by Dovecot
};

attempt settled(message_result result, std::string detail = {}) {
  return {false, result, std::move(detail), false};
}

attempt moved() { return {true, message_result::changed, {}, false}; }

bool inside_dates(const struct stat& st, const message_context& context) {
  if (context.newer_than && !(st.st_mtime > *context.newer_than)) return false;
  if (context.older_than && !(st.st_mtime < *context.older_than)) return false;
  return true;
}

// run_filter's outcome for a message it was asked to encrypt.
attempt from_outcome(const filter_outcome& outcome, const message_context& context) {
  if (outcome.action == filter_action::encrypted) return settled(message_result::encrypted);
  if (outcome.action == filter_action::passed_through &&
      outcome.reason == pass_reason::already_encrypted) {
    return settled(message_result::already_encrypted);
  }
  if (outcome.reason == pass_reason::no_key) {
    return settled(message_result::no_key, outcome.detail);
  }
  if (outcome.reason == pass_reason::not_inline) return settled(message_result::not_inline);
  if (outcome.reason == pass_reason::too_large) return settled(message_result::too_large);
  // gpg dies of the terminal's SIGINT as well: that is the stop, not a failure.
  if (context.stop_requested()) return settled(message_result::interrupted);
  return settled(message_result::failed, outcome.detail);
}

// Dovecot's mail_crypt plugin stores each message as its own ciphertext,
// which starts with this magic (lib-dcrypt's IOSTREAM_CRYPT_MAGIC). Its
// bytes are no message: encrypting them would leave a file neither Dovecot
// nor the user can read.
bool is_mail_crypt_file(int fd) {
  static constexpr char magic[] = "CRYPTED\x03\x07";
  char head[sizeof magic - 1];
  ssize_t n = ::pread(fd, head, sizeof head, 0);
  return n == static_cast<ssize_t>(sizeof head) && std::memcmp(head, magic, sizeof head) == 0;
}

void rewind_fd(int fd, const std::string& what) {
  if (::lseek(fd, 0, SEEK_SET) != 0) throw system_error("cannot rewind " + what, errno);
}

// Runs the filter from `fd` into the empty temp file. A failure is tried
// again after a pause: gpg processes working in parallel on one keyring
// contend for its lock, and gpgseal reads some of gpg's lock messages as
// errors (see the report on gpg_error_lines).
attempt encrypt_into(int fd, const maildir_temp_file& temp, const std::string& path,
                     const message_context& context) {
  attempt done;
  for (int tries = 0; tries < max_filter_tries; ++tries) {
    if (tries > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << tries));
    rewind_fd(fd, path);
    if (::ftruncate(temp.fd(), 0) != 0) throw system_error("cannot truncate a temp file", errno);
    rewind_fd(temp.fd(), "a temp file");
    done = from_outcome(run_filter(fd, temp.fd(), context.settings, context.policy), context);
    if (done.result != message_result::failed || context.stop_requested()) break;
  }
  return done;
}

attempt encrypt_and_replace(const maildir_folder& folder, const original_message& original, int fd,
                            const message_context& context) {
  maildir_temp_file temp(folder, *context.namer);
  attempt done = encrypt_into(fd, temp, folder.path_of(original.file), context);
  if (done.result != message_result::encrypted) return done;
  file_sizes sizes = measure(temp.fd());
  maildir_name name =
      with_sizes(parse_maildir_name(original.file.name), sizes.size, sizes.virtual_size);
  if (name.full() == original.file.name) {
    // Cannot happen (ciphertext is larger), but a rename must never clobber.
    return settled(message_result::failed, "the encrypted version would get the same name");
  }
  if (context.stop_requested()) return settled(message_result::interrupted);
  switch (replace_message(folder, temp, original, name, context.hook)) {
    case replace_result::replaced:
      return done;
    case replace_result::replaced_after_rename:
      done.followed = true;
      return done;
    case replace_result::original_changed:
      break;
  }
  return moved();
}

attempt try_once(const maildir_folder& folder, const message_file& file,
                 const message_context& context) {
  const std::string path = folder.path_of(file);
  int raw = ::openat(folder.fd(file.subdir), file.name.c_str(),
                     O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (raw < 0) {
    if (errno == ENOENT) return moved();
    throw system_error("cannot open " + path, errno);
  }
  unique_fd fd(raw);
  original_message original{file, {}};
  if (::fstat(fd.get(), &original.st) != 0) throw system_error("cannot stat " + path, errno);
  if (!S_ISREG(original.st.st_mode)) return settled(message_result::failed, "not a regular file");
  if (!inside_dates(original.st, context)) return settled(message_result::outside_dates);
  if (is_mail_crypt_file(fd.get())) return settled(message_result::server_encrypted);
  if (is_already_encrypted(fd.get(), static_cast<std::uint64_t>(original.st.st_size))) {
    return settled(message_result::already_encrypted);
  }
  if (original.st.st_size == 0) return settled(message_result::failed, "empty file");
  if (!context.keys_available) return settled(message_result::no_key);
  if (context.dry_run) return settled(message_result::would_encrypt);
  return encrypt_and_replace(folder, original, fd.get(), context);
}

attempt try_once_reporting(const maildir_folder& folder, const message_file& file,
                           const message_context& context) {
  try {
    return try_once(folder, file, context);
  } catch (const std::exception& e) {
    return settled(message_result::failed, e.what());
  }
}

}  // namespace

bool is_already_encrypted(int fd, std::uint64_t size) {
  message_layout layout = scan_message(fd, size);
  return detect_protection(fd, layout) != protection::none;
}

message_report process_message(const maildir_folder& folder, const message_file& file,
                               const message_context& context) {
  message_report report{folder.path_of(file), message_result::changed, {}, false};
  message_file current = file;
  for (int tries = 0; tries < max_attempts; ++tries) {
    if (context.stop_requested()) {
      report.result = message_result::interrupted;
      return report;
    }
    attempt done = try_once_reporting(folder, current, context);
    if (!done.moved) {
      report.result = done.result;
      report.detail = std::move(done.detail);
      report.retried = report.retried || done.followed;
      return report;
    }
    std::optional<message_file> now;
    try {
      now = folder.locate(maildir_key(current.name));
    } catch (const std::exception& e) {
      report.result = message_result::failed;
      report.detail = e.what();
      return report;
    }
    if (!now) {
      report.detail = "removed while being processed";
      return report;
    }
    current = *now;
    report.path = folder.path_of(current);
    report.retried = true;
  }
  report.detail = "renamed again and again while being processed; left for the next run";
  return report;
}

}  // namespace gpgseal::detail
