// Decides, chunk by chunk, whether a text is exactly one ASCII-armored OpenPGP
// encrypted message (RFC 4880 §6.2) with nothing around it but white space.
//
// Checking the structure (armor headers, then only radix-64 lines) and the
// first packet's tag (a public- or symmetric-key encrypted session key,
// RFC 4880 §5.1 and §5.3) keeps a quoted "BEGIN PGP MESSAGE" line, or plain
// text dressed up as armor, from being taken for ciphertext.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gpgseal {

class armor_scanner {
 public:
  void feed(const char* data, std::size_t size);
  // True if everything fed is one armored encrypted message.
  bool finish();
  // True once the text can no longer be one; further input changes nothing.
  [[nodiscard]] bool rejected() const noexcept { return state_ == state::rejected; }

 private:
  enum class state { before, armor_headers, radix64, after, rejected };
  void take_line(std::string_view line);
  void take_radix64_line(std::string_view line);
  void check_first_packet();

  state state_ = state::before;
  std::string line_;
  std::string first_radix64_;
  bool saw_radix64_ = false;
};

// True if `byte` opens an OpenPGP packet that starts an encrypted message.
bool opens_encrypted_message(unsigned char byte) noexcept;

}  // namespace gpgseal
