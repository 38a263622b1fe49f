#include "core/cms/keybox.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <exception>

#include "core/base/fd_io.hpp"

namespace gpgseal::detail {

namespace {

constexpr unsigned char blob_openpgp = 2;
constexpr unsigned char blob_x509 = 3;
// A keyring of more blobs than this is read as holding both kinds.
constexpr int max_blobs = 100000;

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The kinds of the blobs in an open keybox file of `size` bytes. Throws
// error(io) if it cannot be read.
keyring_kinds blob_kinds(int fd, std::uint64_t size) {
  keyring_kinds kinds;
  std::uint64_t offset = 0;
  for (int n = 0; offset < size; ++n) {
    std::array<unsigned char, 5> header{};
    if (n == max_blobs || pread_full(fd, header.data(), header.size(), offset) != header.size()) {
      return {true, true};
    }
    const std::uint32_t length = (std::uint32_t{header[0]} << 24) |
                                 (std::uint32_t{header[1]} << 16) |
                                 (std::uint32_t{header[2]} << 8) | header[3];
    if (length < header.size()) return {true, true};
    if (header[4] == blob_openpgp) kinds.openpgp = true;
    if (header[4] == blob_x509) kinds.x509 = true;
    offset += length;
  }
  return kinds;
}

}  // namespace

keyring_kinds scan_keyring_kinds(const std::string& gnupg_home) {
  const keyring_kinds unknown{true, true};
  if (exists(gnupg_home + "/public-keys.d/pubring.db")) return unknown;
  const bool legacy = exists(gnupg_home + "/pubring.gpg");
  unique_fd fd(::open((gnupg_home + "/pubring.kbx").c_str(),
                      O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd) return {legacy, false};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return unknown;
  try {
    keyring_kinds kinds = blob_kinds(fd.get(), static_cast<std::uint64_t>(st.st_size));
    kinds.openpgp = kinds.openpgp || legacy;
    return kinds;
  } catch (const std::exception&) {
    return unknown;
  }
}

std::vector<bool> protocols_to_try(const keyring_kinds& kinds, protocol_preference prefer) {
  const bool openpgp_first = prefer == protocol_preference::openpgp;
  std::vector<bool> order;
  for (bool smime : {!openpgp_first, openpgp_first}) {
    if (smime ? !kinds.x509 : (kinds.x509 && !kinds.openpgp)) continue;
    order.push_back(smime);
  }
  return order;
}

}  // namespace gpgseal::detail
