// What gpgseal-server does for one user, inside the user's own process, and
// how the parent adds the users up. Each user's process prints its own line
// (and progress bar) and sends its tally to the parent through a pipe.
#pragma once

#include <atomic>
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "cli/common/exit_status.hpp"
#include "cli/common/options.hpp"
#include "cli/server/users.hpp"

namespace gpgseal::cli {

struct server_command {
  shared_options shared;
  bool report = false;  // else encrypt
  std::string maildir = "Maildir";
  bool dry_run = false;
  unsigned jobs = 1;
  bool progress_bar = false;
  bool verbose = false;
  unsigned warn_days = 14;
  std::vector<mail_user> users;
};

enum class user_outcome { done, skipped, attention, failed };

struct user_tally {
  user_outcome outcome = user_outcome::failed;
  std::size_t seen = 0, encrypted = 0, already_encrypted = 0, changed = 0, failed = 0,
              would_encrypt = 0;
  bool stopped = false;
};

struct run_tally {
  std::size_t users = 0, done = 0, skipped = 0, attention = 0, failed_users = 0;
  user_tally messages;  // summed
  bool interrupted = false;
  void add(const user_tally& user);
};

// In the user's process: becomes the user, then encrypts or reports, printing
// the user's line. Never throws.
user_tally run_as_user(const server_command& command, const mail_user& user,
                       const std::atomic<bool>& stop);

// A failure outside the user's process, with its line printed.
user_tally failed_tally(const mail_user& user, const std::string& why);

void write_tally(int fd, const user_tally& tally);
// The tally the user's process sent, or a failure if it sent none.
user_tally read_tally(int fd, const mail_user& user);

void print_summary(std::ostream& out, const server_command& command, const run_tally& total);
ending ending_for(const server_command& command, const run_tally& total);

}  // namespace gpgseal::cli
