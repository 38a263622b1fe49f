// Fuzz target: the header split and the "already encrypted?" decision, the two
// pieces that read every byte a sender controls before anything is encrypted.
// Invariants: the layout obeys RFC 5322's split rules (fuzz_support.hpp), and
// a message judged already encrypted is ciphertext by the structural rules
// when an independent in-memory GMime parse looks at it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/library_init.hpp"
#include "core/mime/detect.hpp"
#include "core/mime/header_scan.hpp"
#include "fuzz/fuzz_support.hpp"
#include "support/run_core.hpp"

namespace {

void check(const std::string& input) {
  auto fd = gpgseal::test::fd_with(input);
  gpgseal::message_layout layout = gpgseal::scan_message(fd.get(), input.size());
  gpgseal::fuzz::check_layout(input, layout);
  gpgseal::protection found = gpgseal::detect_protection(fd.get(), layout);
  gpgseal::fuzz::check_protection(input, layout, found);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gpgseal::initialise_libraries();
  std::string input(reinterpret_cast<const char*>(data), size);
  check(input);
  check(gpgseal::fuzz::across_buffer_boundary(input));
  return 0;
}
