// Fuzz target: the content extraction that becomes the encrypted payload.
// Invariants: read in any buffer size, the payload is exactly the Content-*
// fields, an empty line and the body, in canonical CRLF (RFC 3156 §3, §4);
// and the CRLF encoder gives the same bytes however its input is cut.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/crlf.hpp"
#include "core/base/library_init.hpp"
#include "core/mime/header_scan.hpp"
#include "core/mime/payload.hpp"
#include "fuzz/fuzz_support.hpp"
#include "support/run_core.hpp"

namespace {

void check_payload(const std::string& input, std::size_t read_size) {
  auto fd = gpgseal::test::fd_with(input);
  gpgseal::message_layout layout = gpgseal::scan_message(fd.get(), input.size());
  gpgseal::payload_source source(fd.get(), layout, gpgseal::header_protection{});
  std::string payload;
  std::string buffer(read_size, '\0');
  while (std::size_t n = source.read(buffer.data(), buffer.size())) payload.append(buffer, 0, n);
  auto expected = gpgseal::fuzz::expected_payload(input, layout);
  gpgseal::fuzz::require(
      expected ? payload == *expected : gpgseal::fuzz::payload_is_marked(payload, input, layout),
      "payload differs from the protected fields, Content-* fields and body");
}

void check_crlf_chunking(const std::string& input, std::size_t chunk) {
  gpgseal::crlf_encoder whole_encoder, chunk_encoder;
  std::string whole, chunked;
  whole_encoder.convert(input.data(), input.size(), whole);
  for (std::size_t at = 0; at < input.size(); at += chunk) {
    chunk_encoder.convert(input.data() + at, std::min(chunk, input.size() - at), chunked);
  }
  gpgseal::fuzz::require(whole == gpgseal::fuzz::canonical_crlf(input), "CRLF encoding is wrong");
  gpgseal::fuzz::require(chunked == whole, "CRLF encoding depends on chunking");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The payload parses Content-Type with GMime (protected-header markers).
  gpgseal::initialise_libraries();
  std::string input(reinterpret_cast<const char*>(data), size);
  std::size_t read_size = size ? 1 + data[0] % 251 : 1;
  check_payload(input, read_size);
  check_payload(gpgseal::fuzz::across_buffer_boundary(input), 4096);
  if (!input.empty()) check_crlf_chunking(input, 1 + data[size - 1] % 7);
  return 0;
}
