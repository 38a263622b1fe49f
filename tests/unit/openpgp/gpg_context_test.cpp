#include "core/openpgp/gpg_context.hpp"

#include <gtest/gtest.h>

namespace gpgseal {
namespace {

TEST(GpgDiagnostics, ReportsAnUnreadableKeyring) {
  EXPECT_EQ(gpg_error_lines("gpg: [don't know]: invalid packet (ctb=74)\n"
                            "gpg: keydb_search failed: Invalid packet\n"),
            "gpg: [don't know]: invalid packet (ctb=74); gpg: keydb_search failed: Invalid packet");
  EXPECT_NE(gpg_error_lines("gpg: keyblock resource '/h/pubring.kbx': Permission denied\n"), "");
}

TEST(GpgDiagnostics, IgnoresLocksAndNotFound) {
  // Another delivery to the same user holds the keyring lock; gpg retries.
  EXPECT_EQ(gpg_error_lines("gpg: error opening lockfile '/h/pubring.kbx.lock': "
                            "No such file or directory\n"
                            "gpg: waiting for lock (held by 4242) ...\n"),
            "");
  EXPECT_EQ(gpg_error_lines("gpg: error reading key: No public key\n"), "");
  EXPECT_EQ(gpg_error_lines("gpg: WARNING: unsafe permissions on homedir '/h'\n"), "");
}

}  // namespace
}  // namespace gpgseal
