// What the gpgseal-maildir unit tests share: running the core over a temp
// Maildir with the shared test keys, and judging a stored file the way Dovecot
// and the recipient would (name sizes right, decrypts to the original).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "core/maildir.hpp"
#include "core/maildir/name.hpp"
#include "support/mail_check.hpp"
#include "support/maildir_fixture.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal::test {

// A whole gpgseal-maildir run in one value, so that a test states only what it varies.
struct maildir_options : maildir_run {
  seal_settings filter;
  maildir_limits limits;
};

inline maildir_summary encrypt_maildir(const std::string& root, const maildir_options& options) {
  return gpgseal::encrypt_maildir(root, options.filter, options.limits, options);
}

inline maildir_options alice_options(std::vector<std::string> addresses = {"alice@example.org"}) {
  maildir_options options;
  options.filter.addresses = std::move(addresses);
  options.filter.gnupg_home = shared_keys().ring.home();
  options.jobs = 2;
  return options;
}

// Runs the core; `reports` (if given) collects every report.
inline maildir_summary run_maildir(const temp_maildir& maildir, maildir_options options,
                                   std::vector<message_report>* reports = nullptr) {
  if (reports) options.on_report = [reports](const message_report& r) { reports->push_back(r); };
  return encrypt_maildir(maildir.root(), options);
}

// The one file of a directory whose name starts with `base`; fails otherwise.
inline std::string only_file_with_base(const temp_maildir& maildir, const std::string& folder,
                                       const std::string& subdir, const std::string& base) {
  std::vector<std::string> found;
  for (const auto& name : maildir.names(folder, subdir)) {
    if (parse_maildir_name(name).base == base) found.push_back(name);
  }
  EXPECT_EQ(found.size(), 1u) << "files with base " << base << " in " << folder << "/" << subdir;
  return found.empty() ? "" : found.front();
}

// S= is the file size and W= the size with CRLF line ends (file is LF).
inline ::testing::AssertionResult sizes_in_name_are_right(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  std::string bytes = read_file(path);
  maildir_name parsed = parse_maildir_name(name);
  std::uint64_t lfs = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) ++lfs;
  }
  if (parsed.size != bytes.size()) return ::testing::AssertionFailure() << name << ": S= wrong";
  if (parsed.virtual_size != bytes.size() + lfs) {
    return ::testing::AssertionFailure() << name << ": W= wrong, want " << bytes.size() + lfs;
  }
  return ::testing::AssertionSuccess();
}

// The stored file is the encryption of `original`, and its name is right.
inline ::testing::AssertionResult holds_encrypted(const std::string& path,
                                                  const std::string& original) {
  auto sizes = sizes_in_name_are_right(path);
  if (!sizes) return sizes;
  return round_trips(original, read_file(path), shared_keys().ring);
}

// The directory holds exactly one file of `base`, with the flags part `info`
// (":2,FS", or "" in new/), and it is the encryption of `original`.
inline ::testing::AssertionResult holds_one_encrypted(
    const temp_maildir& maildir, const std::string& folder, const std::string& subdir,
    const std::string& base, const std::string& info, const std::string& original) {
  std::string name = only_file_with_base(maildir, folder, subdir, base);
  if (parse_maildir_name(name).info != info) {
    return ::testing::AssertionFailure() << name << ": flags are not " << info;
  }
  return holds_encrypted(maildir.folder(folder) + "/" + subdir + "/" + name, original);
}

inline bool tmp_is_empty(const temp_maildir& maildir, const std::string& folder = "") {
  return maildir.names(folder, "tmp").empty();
}

inline std::size_t count_of(const std::vector<message_report>& reports, message_result result) {
  return static_cast<std::size_t>(std::count_if(
      reports.begin(), reports.end(), [&](const message_report& r) { return r.result == result; }));
}

}  // namespace gpgseal::test
