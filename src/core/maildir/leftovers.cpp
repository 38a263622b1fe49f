#include "core/maildir/leftovers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <map>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/maildir/name.hpp"
#include "core/maildir/replace.hpp"
#include "core/mime/detect.hpp"
#include "core/mime/header_scan.hpp"
#include "core/mime/pgp_mime_writer.hpp"
#include "core/mime/protected_headers.hpp"

namespace gpgseal::detail {

namespace {

struct member {
  message_file file;
  unique_fd fd;
  message_layout layout;
  protection found = protection::none;
  bool complete = false;  // S= in the name is the file's size
};

// nullopt if the file is gone (Dovecot renamed it): the main pass follows it.
std::optional<member> open_member(const maildir_folder& folder, const message_file& file) {
  int fd = ::openat(folder.fd(file.subdir), file.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw system_error("cannot open " + folder.path_of(file), errno);
  }
  member m{file, unique_fd(fd), {}, protection::none, false};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw system_error("cannot stat " + folder.path_of(file), errno);
  auto size = static_cast<std::uint64_t>(st.st_size);
  m.layout = scan_message(fd, size);
  m.found = detect_protection(fd, m.layout);
  m.complete = parse_maildir_name(file.name).size == size;
  return m;
}

std::string bytes_of(int fd, const byte_range& range) {
  std::string bytes(static_cast<std::size_t>(range.length), '\0');
  bytes.resize(pread_full(fd, bytes.data(), bytes.size(), range.offset));
  while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r')) bytes.pop_back();
  return bytes;
}

bool has_field(const message_layout& layout, const std::string& name) {
  for (const auto& field : layout.fields) {
    if (field.name == name) return true;
  }
  return false;
}

std::vector<std::string> staying_fields(const member& m) {
  std::vector<std::string> fields;
  for (const auto& field : m.layout.fields) {
    if (stays_outside(field.name)) fields.push_back(bytes_of(m.fd.get(), field.raw));
  }
  return fields;
}

// What pgp_mime_writer (and smime_writer) leave outside for `plain` under `policy`: its fields
// byte for byte (a hidden Subject as [...]), less Content-* and DKIM, then the
// fields it adds (Content-Type aside).
std::vector<std::string> expected_outer_fields(const member& plain,
                                               const header_protection& policy) {
  std::vector<std::string> fields;
  for (const auto& field : plain.layout.fields) {
    if (is_content_field(field.name)) continue;
    switch (outer_form_of(field.name, policy)) {
      case outer_form::kept:
        fields.push_back(bytes_of(plain.fd.get(), field.raw));
        break;
      case outer_form::obscured:
        fields.emplace_back(obscured_subject);
        break;
      case outer_form::removed:
        break;
    }
  }
  if (!has_field(plain.layout, "mime-version")) fields.emplace_back("MIME-Version: 1.0");
  fields.emplace_back("X-Gpgit-Executed: True");
  return fields;
}

std::string envelope_of(const member& m) {
  return m.layout.mbox_from ? bytes_of(m.fd.get(), *m.layout.mbox_from) : std::string();
}

// A copy written with the Subject hidden or not is a copy either way: a run
// with other header options must still finish what an interrupted one began.
bool is_encrypted_copy_of(const member& encrypted, const member& plain) {
  // gpgseal writes PGP/MIME, or S/MIME for a user with a certificate only.
  const bool ours =
      encrypted.found == protection::pgp_mime || encrypted.found == protection::smime_enveloped;
  if (!ours || !encrypted.complete || envelope_of(encrypted) != envelope_of(plain)) {
    return false;
  }
  auto outer = staying_fields(encrypted);
  return outer == expected_outer_fields(plain, header_protection{false, true}) ||
         outer == expected_outer_fields(plain, header_protection{true, true});
}

message_report settle_plaintext(const maildir_folder& folder, const member& plain,
                                const std::vector<member>& group, bool dry_run) {
  message_report report{folder.path_of(plain.file), message_result::failed, {}, false};
  const member* copy = nullptr;
  for (const auto& m : group) {
    if (m.found != protection::none && is_encrypted_copy_of(m, plain)) copy = &m;
  }
  if (copy == nullptr) {
    report.detail =
        "shares its base name with an encrypted file that is not its complete "
        "encrypted copy; both are left as they are";
    return report;
  }
  report.detail =
      "leftover of an interrupted run; its encrypted copy is " + folder.path_of(copy->file);
  if (dry_run) {
    report.result = message_result::would_remove_leftover;
  } else if (remove_message(folder, plain.file)) {
    report.result = message_result::leftover_removed;
  } else {
    report.result = message_result::changed;
    report.detail = "removed while being processed";
  }
  return report;
}

void settle_group(const maildir_folder& folder, const std::vector<message_file>& files,
                  bool dry_run, leftover_resolution& out) {
  std::vector<member> group;
  for (const auto& file : files) {
    if (auto m = open_member(folder, file)) {
      group.push_back(std::move(*m));
    } else {
      out.to_process.push_back(file);
    }
  }
  bool any_encrypted = false;
  for (const auto& m : group) any_encrypted = any_encrypted || m.found != protection::none;
  for (const auto& m : group) {
    if (!any_encrypted || m.found != protection::none) {
      out.to_process.push_back(m.file);
    } else {
      out.reports.push_back(settle_plaintext(folder, m, group, dry_run));
    }
  }
}

}  // namespace

leftover_resolution resolve_leftovers(const maildir_folder& folder,
                                      const std::vector<message_file>& files, bool dry_run) {
  std::map<std::string, std::vector<message_file>> by_base;
  for (const auto& file : files) by_base[parse_maildir_name(file.name).base].push_back(file);
  leftover_resolution out;
  for (const auto& file : files) {
    auto& group = by_base[parse_maildir_name(file.name).base];
    if (group.empty()) continue;  // settled with its first member
    if (group.size() == 1) {
      out.to_process.push_back(file);
    } else {
      try {
        settle_group(folder, group, dry_run, out);
      } catch (const std::exception& e) {
        // Touch none of them: a plaintext beside an encrypted twin is not
        // safe to encrypt again before the pair is understood.
        for (const auto& f : group) {
          out.reports.push_back({folder.path_of(f), message_result::failed, e.what(), false});
        }
      }
    }
    group.clear();
  }
  return out;
}

}  // namespace gpgseal::detail
