#include "cli/server/tasks.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <sstream>

#include "cli/common/maildir_console.hpp"
#include "cli/common/privileges.hpp"
#include "core/error.hpp"
#include "core/filter.hpp"
#include "core/key_status.hpp"
#include "core/maildir.hpp"

namespace gpgseal::cli {

namespace {

constexpr std::int64_t day = 86400;

void say(const mail_user& user, const std::string& text) {
  std::cout << user.account.name << " <" << user.address << ">: " << text << std::endl;
}

user_tally outcome_of(user_outcome outcome) {
  user_tally tally;
  tally.outcome = outcome;
  return tally;
}

std::string utc_date(std::int64_t seconds) {
  auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

// "0xFPR, expires 2026-12-05 (in 1 day)"; sets `soon` if within the warning.
std::string key_text(const key_status_key& key, std::int64_t now, unsigned warn_days, bool& soon) {
  std::string text = "0x" + key.fingerprint;
  if (key.expires == 0) return text + ", does not expire";
  std::int64_t days = (key.expires - now) / day;
  if (key.expires - now < static_cast<std::int64_t>(warn_days) * day) soon = true;
  return text + ", expires " + utc_date(key.expires) + " (in " + std::to_string(days) +
         (days == 1 ? " day)" : " days)");
}

user_tally report_user(const server_command& command, const mail_user& user,
                       const key_status& status) {
  switch (status.state) {
    case key_state::usable: {
      bool soon = false;
      std::string keys;
      std::int64_t now = std::time(nullptr);
      for (const auto& key : status.keys) {
        keys += (keys.empty() ? "" : "; ") + key_text(key, now, command.warn_days, soon);
      }
      // S/MIME in the words of the filter's log line.
      const std::string kind = status.smime ? "certificate" : "key";
      const std::string to =
          status.smime ? "encrypted with S/MIME to certificate " : "encrypted to ";
      say(user, (soon ? "WARNING: " + kind + " expires soon: " : std::string()) + to + keys);
      return outcome_of(soon ? user_outcome::attention : user_outcome::done);
    }
    case key_state::no_keyring:
      say(user, "not encrypted: " + status.detail + " (not opted in)");
      return outcome_of(user_outcome::skipped);
    case key_state::no_key:
      // A key that was there and no longer counts: the user's mail has just
      // started to arrive in clear.
      if (!status.rejected.empty()) {
        say(user, "NOT ENCRYPTED: " + status.detail);
        return outcome_of(user_outcome::attention);
      }
      say(user, "not encrypted: " + status.detail);
      return outcome_of(user_outcome::skipped);
    case key_state::keyring_unusable:
      break;
  }
  say(user, "ERROR: " + status.detail);
  return outcome_of(user_outcome::attention);
}

user_tally tally_of(const maildir_summary& summary) {
  user_tally tally;
  tally.outcome = summary.complete() ? user_outcome::done : user_outcome::failed;
  tally.seen = summary.seen;
  tally.encrypted = summary.encrypted;
  tally.already_encrypted = summary.already_encrypted;
  tally.changed = summary.changed;
  tally.failed = summary.failed + summary.folders_failed;
  tally.would_encrypt = summary.would_encrypt;
  tally.stopped = summary.stopped;
  return tally;
}

user_tally encrypt_user(const server_command& command, const mail_user& user,
                        const seal_settings& settings, const std::atomic<bool>& stop) {
  const std::string maildir = user.account.home + "/" + command.maildir;
  struct stat st {};
  if (::stat((maildir + "/cur").c_str(), &st) != 0) {
    say(user, "skipped: no Maildir at " + maildir);
    return outcome_of(user_outcome::skipped);
  }
  maildir_console console(std::cout, std::cerr, command.progress_bar, command.verbose);
  maildir_run run;
  run.dry_run = command.dry_run;
  run.jobs = command.jobs;
  run.stop = &stop;
  run.on_start = [&](std::size_t total) { console.start(total); };
  run.on_report = [&](const message_report& r) { console.report(r); };
  enable_smime_for_every_message();  // before the --jobs threads start
  maildir_summary summary = encrypt_maildir(maildir, settings, limits_for(command.shared), run);
  console.finish();
  user_tally tally = tally_of(summary);
  std::ostringstream text;
  text << (command.dry_run ? std::to_string(tally.would_encrypt) + " would be encrypted"
                           : std::to_string(tally.encrypted) + " encrypted")
       << ", " << tally.already_encrypted << " already encrypted, " << tally.changed
       << " changed underneath, " << tally.failed << " failed, of " << tally.seen;
  if (tally.stopped) text << "; interrupted";
  say(user, text.str());
  return tally;
}

user_tally encrypt_with_keys(const server_command& command, const mail_user& user,
                             const seal_settings& settings, const std::atomic<bool>& stop) {
  key_status status = inspect_keys(settings);
  switch (status.state) {
    case key_state::usable:
      return encrypt_user(command, user, settings, stop);
    case key_state::no_keyring:
      say(user, "skipped: " + status.detail + " (not opted in)");
      return outcome_of(user_outcome::skipped);
    case key_state::no_key:
      say(user, "skipped: " + status.detail + "; stored mail left as it is");
      return outcome_of(user_outcome::skipped);
    case key_state::keyring_unusable:
      break;
  }
  say(user, "FAILED: " + status.detail);
  return outcome_of(user_outcome::failed);
}

}  // namespace

user_tally run_as_user(const server_command& command, const mail_user& user,
                       const std::atomic<bool>& stop) {
  try {
    if (auto problem = mailbox_problem(user.address)) {
      say(user, "FAILED: not a plain mailbox address: " + *problem);
      return outcome_of(user_outcome::failed);
    }
    become(user.account);
    seal_settings settings = settings_for(command.shared, {user.address});
    if (command.report) return report_user(command, user, inspect_keys(settings));
    return encrypt_with_keys(command, user, settings, stop);
  } catch (const std::exception& e) {
    say(user, std::string("FAILED: ") + e.what());
    return outcome_of(user_outcome::failed);
  }
}

user_tally failed_tally(const mail_user& user, const std::string& why) {
  say(user, "FAILED: " + why);
  return outcome_of(user_outcome::failed);
}

void write_tally(int fd, const user_tally& t) {
  std::string line = std::to_string(static_cast<int>(t.outcome)) + " " + std::to_string(t.seen) +
                     " " + std::to_string(t.encrypted) + " " + std::to_string(t.already_encrypted) +
                     " " + std::to_string(t.changed) + " " + std::to_string(t.failed) + " " +
                     std::to_string(t.would_encrypt) + " " + (t.stopped ? "1" : "0") + "\n";
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

user_tally read_tally(int fd, const mail_user& user) {
  std::string text;
  char buffer[256];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  std::istringstream in(text);
  int outcome = -1, stopped = 0;
  user_tally t;
  in >> outcome >> t.seen >> t.encrypted >> t.already_encrypted >> t.changed >> t.failed >>
      t.would_encrypt >> stopped;
  if (!in || outcome < 0 || outcome > static_cast<int>(user_outcome::failed)) {
    return failed_tally(user, "its process ended without a result");
  }
  t.outcome = static_cast<user_outcome>(outcome);
  t.stopped = stopped != 0;
  return t;
}

void run_tally::add(const user_tally& user) {
  ++users;
  switch (user.outcome) {
    case user_outcome::done:
      ++done;
      break;
    case user_outcome::skipped:
      ++skipped;
      break;
    case user_outcome::attention:
      ++attention;
      break;
    case user_outcome::failed:
      ++failed_users;
      break;
  }
  messages.seen += user.seen;
  messages.encrypted += user.encrypted;
  messages.already_encrypted += user.already_encrypted;
  messages.changed += user.changed;
  messages.failed += user.failed;
  messages.would_encrypt += user.would_encrypt;
  if (user.stopped) interrupted = true;
}

void print_summary(std::ostream& out, const server_command& command, const run_tally& t) {
  if (command.report) {
    out << "users: " << t.users << "; encrypted: " << t.done << ", not encrypted: " << t.skipped
        << ", need attention: " << t.attention << ", failed: " << t.failed_users << "\n";
    return;
  }
  out << "users: " << t.users << "; done: " << t.done
      << ", skipped (no keyring or key): " << t.skipped << ", failed: " << t.failed_users << "\n"
      << "messages: " << t.messages.seen << " seen, "
      << (command.dry_run ? t.messages.would_encrypt : t.messages.encrypted)
      << (command.dry_run ? " would be encrypted, " : " encrypted, ")
      << t.messages.already_encrypted << " already encrypted, " << t.messages.changed
      << " changed underneath, " << t.messages.failed << " failed\n";
  if (t.interrupted) out << "interrupted: run it again to finish\n";
}

ending ending_for(const server_command& command, const run_tally& t) {
  if (command.report) {
    return t.attention > 0 || t.failed_users > 0 ? ending::attention : ending::ok;
  }
  return t.failed_users > 0 || t.interrupted ? ending::tempfail : ending::ok;
}

}  // namespace gpgseal::cli
