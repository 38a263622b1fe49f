// Header protection as gpgseal writes it (RFC 9788, and the older
// protected-headers="v1" convention that Thunderbird, K-9 Mail and NeoMutt
// read): which fields of the original are copied onto the root of the
// encrypted payload, what stays outside and in which form, and the
// Content-Type parameters that mark the payload root.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/mime/header_scan.hpp"
#include "core/settings.hpp"

namespace gpgseal {

// How a field of the original appears in the outer header section.
enum class outer_form {
  kept,      // byte for byte
  obscured,  // replaced (RFC 9788 hcp_baseline: Subject becomes "[...]")
  removed,   // left out (DKIM signatures; with hcp_baseline, Comments and Keywords)
};

outer_form outer_form_of(const std::string& lower_name, const header_protection& policy);

// The outer field that stands for an obscured Subject (RFC 9788 §4.2.1).
inline constexpr std::string_view obscured_subject = "Subject: [...]";

// True for the fields copied onto the payload root: every non-structural
// field (RFC 9788 §1.1: not MIME-Version or Content-*) except the transit
// fields that stay outside only (RFC 9788 §7, README "Protected headers")
// and HP-Outer fields that arrived with the message (RFC 9788 §10.2).
bool copied_inside(const std::string& lower_name);

// The parameters gpgseal owns on the payload root and on the parts that carry
// a Legacy Display Element: removed from the original before its own are added.
const std::vector<std::string>& protection_parameters();

// `name="value"` pairs joined by "; ", for values that need no escaping.
std::string parameter_text(const std::vector<std::pair<std::string, std::string>>& parameters);

// A Content-Type field (raw bytes, line end included or not) with `added`
// parameters appended and any parameter named in `strip` removed. When none
// needs removing, the original bytes are kept and the new parameters follow
// on a folded line; otherwise the field is rewritten from its parsed form.
// The result ends with CRLF. Requires initialise_libraries().
std::string with_parameters(const std::string& raw_field,
                            const std::vector<std::pair<std::string, std::string>>& added,
                            const std::vector<std::string>& strip);

// The Subject of the message decoded to UTF-8 (RFC 2047), unfolded and
// trimmed, or "" when it has none.
std::string decoded_subject(int spool_fd, const message_layout& layout);

}  // namespace gpgseal
