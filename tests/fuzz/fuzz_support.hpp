// What the fuzz targets share: the input as a spool descriptor, and reference
// checks written from the RFCs rather than from the core's code, so that a
// target asserts an invariant ("what was judged encrypted is ciphertext by the
// structural rules", "the payload is the body") and not merely "no crash".
// A broken invariant aborts with a message, which libFuzzer reports as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/mime/detect.hpp"
#include "core/mime/header_scan.hpp"

namespace gpgseal::fuzz {

// Aborts with `what` unless `condition` holds.
void require(bool condition, const std::string& what);

// The same bytes again, behind a header field that pushes them across the
// core's 64 KiB read buffer at an offset chosen by the input's first byte, so
// that lines and CRLF pairs split between two reads get exercised too.
std::string across_buffer_boundary(std::string_view input);

// Every LF not preceded by CR becomes CRLF (RFC 3156 §3 canonical form).
std::string canonical_crlf(std::string_view text);

// RFC 4880 §6.2: nothing but white space around one armored PGP MESSAGE whose
// first packet (§4.2) is a public- or symmetric-key encrypted session key
// (§5.1, §5.3). Written independently of armor_scanner.
bool is_encrypted_armor(std::string_view text);

// Asserts the RFC 5322 split properties of `layout` for `input`: the ranges
// tile the input, every field starts with name and colon, continuation lines
// start with white space, and the body starts at a blank line or at the first
// line that cannot belong to the header block.
void check_layout(std::string_view input, const message_layout& layout);

// Asserts that a message judged `found` really is encrypted, checked with an
// independent GMime parse of the whole input held in memory.
void check_protection(std::string_view input, const message_layout& layout, protection found);

// The payload RFC 3156 §4 encrypts, with the default header protection
// (README "Protected headers"): the copied fields, their HP-Outer lines, the
// Content-* fields with the Content-Type marked, an empty line and the body,
// in canonical CRLF form, computed from `input` alone. nullopt when a
// Content-Type carries marker parameters of its own: see payload_is_marked.
std::optional<std::string> expected_payload(std::string_view input, const message_layout& layout);

// For that case: the payload ends with the empty line and the body, and says
// hp="cipher" and protected-headers="v1" in its header.
bool payload_is_marked(const std::string& payload, std::string_view input,
                       const message_layout& layout);
std::optional<std::string> expected_payload(std::string_view input, const message_layout& layout);

}  // namespace gpgseal::fuzz
