#include "cli/common/maildir_console.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <sstream>
#include <string>

#include "cli/common/usage.hpp"

namespace gpgseal::cli {

namespace {

constexpr int bar_width = 30;
constexpr auto redraw_interval = std::chrono::milliseconds(100);

bool is_problem(message_result result) {
  return result == message_result::failed || result == message_result::changed;
}

// Lines a dry run exists to show, and every line under --verbose.
bool is_listed(message_result result, bool verbose) {
  return verbose || result == message_result::would_encrypt ||
         result == message_result::would_remove_leftover;
}

void line(std::ostream& out, const char* label, std::size_t count) {
  out << std::left << std::setw(20) << label << std::right << std::setw(8) << count << "\n";
}

}  // namespace

bool progress_bar_from(const std::string& value) {
  if (value == "always") return true;
  if (value == "never") return false;
  if (value == "auto") return ::isatty(STDERR_FILENO) != 0;
  throw usage_error("--progress " + value + ": use auto, always or never");
}

maildir_console::maildir_console(std::ostream& out, std::ostream& err, bool progress_bar,
                                 bool verbose)
    : out_(out), err_(err), progress_bar_(progress_bar), verbose_(verbose) {}

void maildir_console::start(std::size_t total) {
  total_ = total;
  started_ = std::chrono::steady_clock::now();
  draw(true);
}

void maildir_console::report(const message_report& report) {
  ++done_;
  if (is_problem(report.result) || is_listed(report.result, verbose_)) clear_bar();
  if (is_problem(report.result)) {
    err_ << "gpgseal-maildir: " << report.path << ": " << describe(report.result);
    if (!report.detail.empty()) err_ << ": " << report.detail;
    err_ << "\n";
  } else if (is_listed(report.result, verbose_)) {
    out_ << describe(report.result) << " " << report.path;
    if (!report.detail.empty()) out_ << " (" << report.detail << ")";
    out_ << "\n";
    out_.flush();
  }
  draw(done_ == total_);
}

void maildir_console::finish() { clear_bar(); }

void maildir_console::draw(bool force) {
  if (!progress_bar_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && bar_shown_ && now - drawn_ < redraw_interval) return;
  drawn_ = now;
  std::size_t total = std::max(total_, done_);
  int filled = total == 0 ? bar_width : static_cast<int>(done_ * bar_width / total);
  double seconds = std::chrono::duration<double>(now - started_).count();
  std::ostringstream bar;
  bar << "\r[" << std::string(filled, '#') << std::string(bar_width - filled, '.') << "] " << done_
      << "/" << total;
  if (seconds > 0.5)
    bar << std::fixed << std::setprecision(1) << "  " << static_cast<double>(done_) / seconds
        << "/s";
  err_ << bar.str() << "\033[K" << std::flush;
  bar_shown_ = true;
}

void maildir_console::clear_bar() {
  if (!bar_shown_) return;
  err_ << "\r\033[K" << std::flush;
  bar_shown_ = false;
}

void maildir_console::summary(const maildir_summary& s, bool dry_run) const {
  out_ << "messages seen       " << std::setw(8) << s.seen << "  (in " << s.folders
       << (s.folders == 1 ? " folder)\n" : " folders)\n");
  line(out_, dry_run ? "would encrypt" : "encrypted", dry_run ? s.would_encrypt : s.encrypted);
  line(out_, "already encrypted", s.already_encrypted);
  line(out_, "without key", s.no_key);
  line(out_, "changed underneath", s.changed);
  line(out_, "failed", s.failed);
  if (s.not_inline > 0) line(out_, "not inline, as is", s.not_inline);
  if (s.outside_dates > 0) line(out_, "outside the dates", s.outside_dates);
  if (s.too_large > 0) line(out_, "too large, as is", s.too_large);
  if (s.server_encrypted > 0) line(out_, "mail_crypt, as is", s.server_encrypted);
  if (s.retried > 0) line(out_, "renamed meanwhile", s.retried);
  if (s.leftovers_removed > 0) {
    line(out_, dry_run ? "leftovers to remove" : "leftovers removed", s.leftovers_removed);
  }
  if (s.stale_temp_removed > 0) line(out_, "stale tmp/ files", s.stale_temp_removed);
  if (s.folders_failed > 0) line(out_, "folders failed", s.folders_failed);
  if (s.stopped) out_ << "interrupted: run gpgseal-maildir again to finish\n";
}

}  // namespace gpgseal::cli
