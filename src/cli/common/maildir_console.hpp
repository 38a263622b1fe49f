// What gpgseal-maildir shows while it works and at the end: a progress bar on
// a terminal (stderr), one line per failed message (stderr), a line per
// message with --verbose or --dry-run (stdout), and the summary (stdout).
#pragma once

#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>

#include "core/maildir.hpp"

namespace gpgseal::cli {

// --progress auto|always|never: whether to draw the bar (auto: stderr is a
// terminal). Throws usage_error naming the option.
bool progress_bar_from(const std::string& value);

class maildir_console {
 public:
  maildir_console(std::ostream& out, std::ostream& err, bool progress_bar, bool verbose);

  void start(std::size_t total);
  void report(const message_report& report);
  // Removes the progress bar; call before printing anything else.
  void finish();
  void summary(const maildir_summary& summary, bool dry_run) const;

 private:
  void draw(bool force);
  void clear_bar();

  std::ostream& out_;
  std::ostream& err_;
  bool progress_bar_;
  bool verbose_;
  bool bar_shown_ = false;
  std::size_t total_ = 0;
  std::size_t done_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point drawn_;
};

}  // namespace gpgseal::cli
