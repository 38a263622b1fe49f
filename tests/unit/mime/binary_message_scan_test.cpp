// The binary OpenPGP message check behind Exchange-mangled PGP/MIME whose
// encrypted part is base64 (detect.hpp): real ciphertext passes, plain text
// behind a real session key does not.
#include "core/mime/binary_message_scan.hpp"

#include <glib.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::shared_keys;

// The packets of an armored message (RFC 4880 §6.2), checksum line left out.
std::string dearmored(const std::string& armored) {
  std::istringstream lines(armored);
  std::string line, radix64;
  bool in_body = false;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("-----", 0) == 0) continue;
    if (!in_body) {
      in_body = line.empty();
      continue;
    }
    if (line[0] == '=') break;
    radix64 += line;
  }
  gsize size = 0;
  guchar* bytes = g_base64_decode(radix64.c_str(), &size);
  std::string packets(reinterpret_cast<char*>(bytes), size);
  g_free(bytes);
  return packets;
}

bool scans_as_message(const std::string& bytes, std::size_t chunk = 7) {
  binary_message_scanner scanner;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    scanner.feed(bytes.data() + at, std::min(chunk, bytes.size() - at));
  }
  return scanner.finish();
}

const std::string& real_message() {
  static const std::string packets =
      dearmored(shared_keys().ring.encrypt_to(shared_keys().alice, std::string(3000, 'x') + "\n"));
  return packets;
}

TEST(BinaryMessageScan, RealCiphertextPassesInAnyChunking) {
  ASSERT_GT(real_message().size(), 100u);
  EXPECT_TRUE(scans_as_message(real_message(), 1));
  EXPECT_TRUE(scans_as_message(real_message(), 7));
  EXPECT_TRUE(scans_as_message(real_message(), 65536));
}

TEST(BinaryMessageScan, ALiteralPacketBehindARealSessionKeyIsNotCiphertext) {
  // The session key packet of a real message, then text in clear (tag 11).
  std::string fake = real_message().substr(0, 2 + static_cast<unsigned char>(real_message()[1]));
  std::string text = "b\x00\x00\x00\x00\x00The figures, in clear.\n";
  text[1] = '\0';
  fake += std::string{'\xcb', static_cast<char>(text.size())} + text;
  EXPECT_FALSE(scans_as_message(fake));
}

TEST(BinaryMessageScan, ABytePastTheEndOrACutOffMessageIsNotCiphertext) {
  EXPECT_FALSE(scans_as_message(real_message() + "x"));
  EXPECT_FALSE(scans_as_message(real_message().substr(0, real_message().size() - 1)));
  EXPECT_FALSE(scans_as_message(""));
  EXPECT_FALSE(scans_as_message("Hello, this is text\n"));
}

TEST(BinaryMessageScan, DataWithoutASessionKeyIsNotAMessage) {
  // An encrypted data packet alone (new format, tag 18, two bytes).
  EXPECT_FALSE(scans_as_message(std::string{'\xd2', '\x02', '\x01', '\x00'}));
}

TEST(BinaryMessageScan, OldFormatLengthsAndAnIndeterminateDataPacket) {
  // Old-format PKESK (tag 1, one-octet length 3), then old-format SED (tag 9)
  // of indeterminate length, which runs to the end.
  std::string packets = std::string{'\x84', '\x03', '\x03', '\x00', '\x00'} + "\xa7" + "abc";
  EXPECT_TRUE(scans_as_message(packets, 1));
}

}  // namespace
}  // namespace gpgseal
