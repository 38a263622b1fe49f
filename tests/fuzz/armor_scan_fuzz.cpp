// Fuzz target: the armor scanner that decides whether a decoded body is one
// encrypted OpenPGP message. Invariants: the verdict does not depend on how
// the text is cut into chunks, it agrees with a whole-text reading of RFC 4880
// §6.2 (fuzz_support.hpp) for lines of sane length, and rejection is final.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/mime/armor_scan.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

bool scan_in_chunks(std::string_view text, std::size_t chunk) {
  gpgseal::armor_scanner scanner;
  bool was_rejected = false;
  for (std::size_t at = 0; at < text.size(); at += chunk) {
    scanner.feed(text.data() + at, std::min(chunk, text.size() - at));
    gpgseal::fuzz::require(!was_rejected || scanner.rejected(), "a rejection was taken back");
    was_rejected = scanner.rejected();
  }
  bool accepted = scanner.finish();
  gpgseal::fuzz::require(!(was_rejected && accepted), "accepted after rejecting");
  return accepted;
}

// The scanner refuses lines over 1 KiB (RFC 4880 §6.3 allows 76 characters).
bool has_only_short_lines(std::string_view text) {
  std::size_t run = 0;
  for (char c : text) {
    run = c == '\n' ? 0 : run + 1;
    if (run > 1024) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = 1 + data[0] % 17;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool whole = scan_in_chunks(text, text.size() + 1);
  gpgseal::fuzz::require(scan_in_chunks(text, chunk) == whole, "verdict depends on chunking");
  gpgseal::fuzz::require(scan_in_chunks(text, 1) == whole, "verdict differs byte by byte");
  bool reference = gpgseal::fuzz::is_encrypted_armor(text);
  gpgseal::fuzz::require(!whole || reference, "accepted text that is not encrypted armor");
  gpgseal::fuzz::require(whole || !reference || !has_only_short_lines(text),
                         "rejected well-formed encrypted armor");
  return 0;
}
