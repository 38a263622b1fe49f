#include "core/openpgp/keyring_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace gpgseal {

namespace {

// Dovecot's variables, the ones a per-user path needs.
std::optional<std::string_view> expansion(char code, std::string_view address) {
  std::size_t at = address.rfind('@');
  switch (code) {
    case 'u':
      return address;
    case 'n':
      return address.substr(0, at);
    case 'd':
      return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
    case '%':
      return std::string_view("%");
    default:
      return std::nullopt;
  }
}

void refuse_escape(std::string_view part, char code) {
  bool escapes = part.find('/') != std::string_view::npos ||
                 part.find("..") != std::string_view::npos || part == "." ||
                 part.find('\0') != std::string_view::npos;
  if (escapes) {
    throw error(error_kind::config, "keyring template: %" + std::string(1, code) + " expands to '" +
                                        std::string(part) + "', which would leave its directory");
  }
}

}  // namespace

std::optional<std::string> keyring_template_problem(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    if (i + 1 == pattern.size()) return std::string("it ends with a lone '%'");
    if (!expansion(pattern[i + 1], "x@y")) {
      return "unknown variable %" + std::string(1, pattern[i + 1]) + " (use %u, %n, %d or %%)";
    }
    ++i;
  }
  return std::nullopt;
}

std::string expand_keyring_template(std::string_view pattern, std::string_view address) {
  if (auto problem = keyring_template_problem(pattern)) {
    throw error(error_kind::config, "keyring template '" + std::string(pattern) + "': " + *problem);
  }
  std::string path;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      path += pattern[i];
      continue;
    }
    char code = pattern[++i];
    std::string_view part = *expansion(code, address);
    if (code != '%') refuse_escape(part, code);
    path += part;
  }
  return path;
}

void check_keyring_directory(const std::string& gnupg_home) {
  auto refuse = [&](const std::string& problem) {
    throw error(error_kind::config, "keyring directory " + gnupg_home + " " + problem);
  };
  if (gnupg_home.empty()) {
    throw error(error_kind::config, "no keyring directory was given");
  }
  struct stat st {};
  if (::stat(gnupg_home.c_str(), &st) != 0)
    refuse(std::string("is unusable: ") + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) refuse("is not a directory");
  // Someone else's (or a shared-writable) keyring could hold keys planted
  // by another user, and mail would be encrypted to them.
  if (st.st_uid != ::geteuid()) {
    refuse("is owned by uid " + std::to_string(st.st_uid) + ", not by the running uid " +
           std::to_string(::geteuid()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) refuse("is writable by group or others");
  if (::access(gnupg_home.c_str(), R_OK | X_OK) != 0) {
    refuse(std::string("is unreadable: ") + std::strerror(errno));
  }
}

bool keyring_directory_absent(const std::string& gnupg_home) {
  struct stat st {};
  return !gnupg_home.empty() && ::lstat(gnupg_home.c_str(), &st) != 0 && errno == ENOENT;
}

bool has_public_keyring(const std::string& gnupg_home) {
  for (const char* name : {"/pubring.kbx", "/pubring.gpg"}) {
    if (::access((gnupg_home + name).c_str(), F_OK) == 0) return true;
  }
  return false;
}

}  // namespace gpgseal
