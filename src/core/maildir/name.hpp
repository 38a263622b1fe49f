// Maildir file names as Dovecot reads them: `<base>[,S=<size>][,W=<vsize>]:2,<flags>`.
// The part before ':' is the key Dovecot's dovecot-uidlist maps a UID to, so a
// replacement with other S=/W= values is a new message to Dovecot (the honest
// outcome when the content changes), while the base and the flags (keyword
// letters included) carry over unchanged. Pure functions, no file system.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gpgseal {

struct maildir_name {
  std::string base;   // up to the first ',' or ':'; unique per message in a folder
  std::string extra;  // other ",X=..." fields of the key, in order, leading ',' kept
  std::optional<std::uint64_t> size;          // S=
  std::optional<std::uint64_t> virtual_size;  // W=
  std::string info;  // from the ':' on (":2,FS"), or "" for a message in new/

  // Everything before the info: the name dovecot-uidlist records.
  [[nodiscard]] std::string key() const;
  [[nodiscard]] std::string full() const { return key() + info; }
  // The letters after ":2,", or "" when there is no such info.
  [[nodiscard]] std::string flags() const;
};

// Splits a file name found in cur/ or new/. Never fails: a name without any
// of the optional parts is all base.
maildir_name parse_maildir_name(std::string_view file_name);

// The key part of `file_name` (everything before the first ':').
std::string_view maildir_key(std::string_view file_name) noexcept;

// The same message under new content: base, other fields and info kept,
// S= and W= set to the new sizes.
maildir_name with_sizes(maildir_name name, std::uint64_t size, std::uint64_t virtual_size);

// Counts the LFs not preceded by CR across consecutive chunks, so that
// W= (the size with CRLF line ends, RFC 3501 RFC822.SIZE) is size + count.
class bare_lf_counter {
 public:
  void add(const char* data, std::size_t size) noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }

 private:
  std::uint64_t count_ = 0;
  bool last_was_cr_ = false;
};

// A unique name for a file in tmp/, by the Maildir convention
// `<seconds>.M<microseconds>P<pid>Q<counter>.<host>`, with our marker before the
// host so that leftovers of a crashed run can be recognised as ours.
std::string temp_file_name(std::int64_t seconds, long microseconds, long pid, std::uint64_t counter,
                           std::string_view host);

struct temp_file_origin {
  std::int64_t seconds = 0;
  long pid = 0;
  std::string host;  // as escaped in the name
};

// The origin of a name made by temp_file_name(), or nullopt for any other name.
std::optional<temp_file_origin> parse_temp_file_name(std::string_view name);

// The host name as Maildir names carry it: '/' and ':' escaped as \057, \072.
std::string escape_host(std::string_view host);

}  // namespace gpgseal
