#include "core/openpgp/key_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <sstream>

#include "core/base/address.hpp"
#include "core/base/fd_io.hpp"
#include "core/error.hpp"

namespace gpgseal {

namespace {

constexpr std::string_view magic_line = "gpgseal key cache 1";
constexpr std::size_t max_cache_bytes = std::size_t{64} * 1024;
// Enough for a keyring shared by a few hundred users; the newest are kept.
constexpr std::size_t max_entries = 256;
constexpr std::size_t max_addresses = 64;

// Every file whose change can change what a listing finds: the keyrings of
// gpg 2.2 and of keyboxd, the trust database (the "disabled" flag lives
// there), and the option files (which can name more keyrings).
constexpr std::array<const char*, 8> watched_files = {
    "pubring.kbx", "pubring.gpg", "public-keys.d/pubring.db", "trustdb.gpg", "gpg.conf",
    "common.conf",
    // gpgsm's: the roots it trusts, and its options (S/MIME).
    "trustlist.txt", "gpgsm.conf"};

std::string file_state(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT ? "absent" : "unreadable";
  std::ostringstream text;
  text << st.st_dev << ' ' << st.st_ino << ' ' << st.st_size << ' ' << st.st_mtim.tv_sec << '.'
       << st.st_mtim.tv_nsec << ' ' << st.st_ctim.tv_sec << '.' << st.st_ctim.tv_nsec;
  return text.str();
}

// File times tick with the kernel's clock, a few milliseconds apart: a file
// written again in the same tick as the observation could look unchanged. As
// git does for its index, a keyring written within the last seconds is not
// trusted to show its next change.
bool changed_lately(const std::string& gnupg_home, std::int64_t now) {
  for (const char* name : watched_files) {
    struct stat st {};
    if (::stat((gnupg_home + "/" + name).c_str(), &st) != 0) continue;
    if (st.st_mtim.tv_sec >= now - 2) return true;
  }
  return false;
}

std::string cache_path(const std::string& gnupg_home, const char* file_name) {
  return gnupg_home + "/" + file_name;
}

bool is_fingerprint(std::string_view text) {
  return (text.size() == 40 || text.size() == 64) &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'F');
         });
}

bool same_addresses(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), same_mailbox);
}

// "entry VALID_UNTIL N ADDRESS... FINGERPRINT..."
std::optional<key_cache_entry> parse_entry(const std::string& line) {
  std::istringstream words(line);
  std::string keyword;
  key_cache_entry entry;
  std::size_t count = 0;
  if (!(words >> keyword >> entry.valid_until >> count) || keyword != "entry") return std::nullopt;
  if (count == 0 || count > max_addresses) return std::nullopt;
  for (std::string word; words >> word;) {
    if (entry.addresses.size() < count) {
      entry.addresses.push_back(word);
    } else if (is_fingerprint(word)) {
      entry.fingerprints.push_back(word);
    } else {
      return std::nullopt;
    }
  }
  if (entry.addresses.size() != count || entry.fingerprints.empty()) return std::nullopt;
  return entry;
}

// The cache file's text, if it is a regular file of this uid that nobody
// else can write, and small.
std::optional<std::string> read_cache_file(const std::string& gnupg_home, const char* file_name) {
  // O_NONBLOCK: a FIFO planted under the name must not hang the delivery.
  unique_fd fd(::open(cache_path(gnupg_home, file_name).c_str(),
                      O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return std::nullopt;
  if (st.st_size <= 0 || static_cast<std::uint64_t>(st.st_size) > max_cache_bytes) {
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  if (pread_full(fd.get(), text.data(), text.size(), 0) != text.size()) return std::nullopt;
  return text;
}

// Replaces the cache file whole, so that a reader sees the old or the new.
void write_cache_file(const std::string& gnupg_home, const char* file_name,
                      const std::string& text) {
  std::string temp = gnupg_home + "/." + file_name + ".XXXXXX";
  unique_fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) return;
  bool written = true;
  try {
    write_all(fd.get(), text.data(), text.size(), "the key cache");
  } catch (const error&) {
    written = false;
  }
  if (::close(fd.release()) != 0) written = false;
  if (!written || ::rename(temp.c_str(), cache_path(gnupg_home, file_name).c_str()) != 0) {
    ::unlink(temp.c_str());
  }
}

std::optional<key_cache> load(const std::string& gnupg_home, const char* file_name) {
  auto text = read_cache_file(gnupg_home, file_name);
  if (!text) return std::nullopt;
  return parse_key_cache(*text);
}

}  // namespace

std::string observe_keyring(const std::string& gnupg_home) {
  std::string state;
  for (const char* name : watched_files) {
    state += std::string("file ") + name + ' ' + file_state(gnupg_home + "/" + name) + '\n';
  }
  return state;
}

std::string format_key_cache(const key_cache& cache) {
  std::string text = std::string(magic_line) + '\n' + cache.keyring_state;
  for (const auto& entry : cache.entries) {
    text +=
        "entry " + std::to_string(entry.valid_until) + ' ' + std::to_string(entry.addresses.size());
    for (const auto& address : entry.addresses) text += ' ' + address;
    for (const auto& fpr : entry.fingerprints) text += ' ' + fpr;
    text += '\n';
  }
  return text + "end\n";
}

std::optional<key_cache> parse_key_cache(std::string_view text) {
  std::istringstream lines{std::string(text)};
  std::string line;
  if (!std::getline(lines, line) || line != magic_line) return std::nullopt;
  key_cache cache;
  bool ended = false;
  while (std::getline(lines, line)) {
    if (ended) return std::nullopt;
    if (line.rfind("file ", 0) == 0 && cache.entries.empty()) {
      cache.keyring_state += line + '\n';
    } else if (line.rfind("entry ", 0) == 0) {
      auto entry = parse_entry(line);
      if (!entry) return std::nullopt;
      cache.entries.push_back(std::move(*entry));
    } else if (line == "end") {
      ended = true;
    } else {
      return std::nullopt;
    }
  }
  // No "end": the file was cut short, whatever the rest looks like.
  if (!ended || cache.keyring_state.empty()) return std::nullopt;
  return cache;
}

std::optional<std::vector<recipient_key>> recall_keys(const std::string& gnupg_home,
                                                      const std::vector<std::string>& addresses,
                                                      std::int64_t now, const char* file_name) {
  auto cache = load(gnupg_home, file_name);
  if (!cache || cache->keyring_state != observe_keyring(gnupg_home)) return std::nullopt;
  for (const auto& entry : cache->entries) {
    if (!same_addresses(entry.addresses, addresses)) continue;
    if (now >= entry.valid_until || entry.valid_until - now > key_cache_max_age) {
      return std::nullopt;
    }
    std::vector<recipient_key> keys;
    for (const auto& fpr : entry.fingerprints) keys.push_back({fpr, entry.valid_until});
    return keys;
  }
  return std::nullopt;
}

void remember_keys(const std::string& gnupg_home, const std::string& state_before_listing,
                   const std::vector<std::string>& addresses, const key_selection& selection,
                   std::int64_t now, const char* file_name) {
  if (!selection.complete() || selection.keys.empty()) return;
  key_cache_entry fresh{addresses, {}, now + key_cache_max_age};
  for (const auto& key : selection.keys) {
    if (!is_fingerprint(key.fingerprint)) return;
    fresh.fingerprints.push_back(key.fingerprint);
    if (key.usable_until > 0) fresh.valid_until = std::min(fresh.valid_until, key.usable_until);
  }
  if (fresh.valid_until <= now || addresses.empty() || addresses.size() > max_addresses ||
      // Entries are space-separated words: only plain mailboxes (no white space) fit.
      std::any_of(addresses.begin(), addresses.end(), mailbox_problem) ||
      changed_lately(gnupg_home, now)) {
    return;
  }
  key_cache cache{state_before_listing, {fresh}};
  // Other addresses' entries stay if they were listed from the same keyring.
  if (auto old = load(gnupg_home, file_name); old && old->keyring_state == state_before_listing) {
    for (auto& entry : old->entries) {
      if (cache.entries.size() >= max_entries) break;
      if (entry.valid_until > now && !same_addresses(entry.addresses, addresses)) {
        cache.entries.push_back(std::move(entry));
      }
    }
  }
  std::string text = format_key_cache(cache);
  while (text.size() > max_cache_bytes && cache.entries.size() > 1) {
    cache.entries.pop_back();
    text = format_key_cache(cache);
  }
  if (text.size() <= max_cache_bytes) write_cache_file(gnupg_home, file_name, text);
}

void forget_keys(const std::string& gnupg_home, const char* file_name) {
  ::unlink(cache_path(gnupg_home, file_name).c_str());
}

}  // namespace gpgseal
