#include "core/mime/armor_scan.hpp"

#include <gtest/gtest.h>

#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

bool scan_in_pieces(const std::string& text, std::size_t piece) {
  armor_scanner scanner;
  for (std::size_t i = 0; i < text.size(); i += piece) {
    scanner.feed(text.data() + i, std::min(piece, text.size() - i));
  }
  return scanner.finish();
}

const std::string& real_ciphertext() {
  static const std::string text =
      test::shared_keys().ring.encrypt_to(test::shared_keys().alice, "secret text\n");
  return text;
}

TEST(ArmorScan, AcceptsRealCiphertextInAnyChunking) {
  EXPECT_TRUE(scan_in_pieces(real_ciphertext(), 1));
  EXPECT_TRUE(scan_in_pieces(real_ciphertext(), 7));
  EXPECT_TRUE(scan_in_pieces("\r\n  \n" + real_ciphertext() + "\n \n", 4096));
}

TEST(ArmorScan, AcceptsCrlfLineEnds) {
  std::string crlf;
  for (char c : real_ciphertext()) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_TRUE(scan_in_pieces(crlf, 5));
}

TEST(ArmorScan, RejectsTextAroundTheBlock) {
  EXPECT_FALSE(scan_in_pieces("Hi,\n> " + real_ciphertext(), 100));
  EXPECT_FALSE(scan_in_pieces(real_ciphertext() + "\nPlease reply.\n", 100));
  EXPECT_FALSE(scan_in_pieces("See below\n" + real_ciphertext(), 100));
}

TEST(ArmorScan, RejectsTwoBlocks) {
  EXPECT_FALSE(scan_in_pieces(real_ciphertext() + real_ciphertext(), 100));
}

TEST(ArmorScan, RejectsPlainTextDressedAsArmor) {
  EXPECT_FALSE(scan_in_pieces(
      "-----BEGIN PGP MESSAGE-----\n\nThe launch code is 1234.\n-----END PGP MESSAGE-----\n", 10));
}

TEST(ArmorScan, RejectsArmorWhoseFirstPacketIsNotAnEncryptedSessionKey) {
  // 0xCB: a new-format literal data packet (tag 11), i.e. signed or plain data.
  EXPECT_FALSE(scan_in_pieces(
      "-----BEGIN PGP MESSAGE-----\n\nywtiAAAAAABoZWxsbw==\n=abcd\n-----END PGP MESSAGE-----\n",
      10));
}

TEST(ArmorScan, RejectsAnUnterminatedBlock) {
  std::string cut = real_ciphertext().substr(0, real_ciphertext().find("-----END"));
  EXPECT_FALSE(scan_in_pieces(cut, 100));
}

TEST(ArmorScan, RejectsAnEmptyText) { EXPECT_FALSE(scan_in_pieces("", 1)); }

TEST(ArmorScan, KnowsTheEncryptedMessagePacketTags) {
  EXPECT_TRUE(opens_encrypted_message(0x84));   // old format, tag 1 (PKESK)
  EXPECT_TRUE(opens_encrypted_message(0xc1));   // new format, tag 1
  EXPECT_TRUE(opens_encrypted_message(0x8c));   // old format, tag 3 (SKESK)
  EXPECT_TRUE(opens_encrypted_message(0xc3));   // new format, tag 3
  EXPECT_FALSE(opens_encrypted_message(0xa3));  // old format, tag 8 (compressed)
  EXPECT_FALSE(opens_encrypted_message(0x44));  // not a packet header
}

}  // namespace
}  // namespace gpgseal
