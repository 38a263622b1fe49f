// Public face: what a message is sealed with. The recipients, where their
// keys are, and the form of the encrypted message. What to do when sealing is
// impossible is policy.hpp's. Front-ends fill this in from their options; the
// core takes it as given and never asks where a value came from.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpgseal {

enum class encrypt_mode {
  pgp_mime,         // always RFC 3156 PGP/MIME
  prefer_inline,    // inline PGP for a single text/plain part, else PGP/MIME
  inline_or_plain,  // inline PGP for a single text/plain part, else unchanged
};

// Header protection (RFC 9788, README "Protected headers"): every PGP/MIME and S/MIME
// payload carries a copy of the header; these choose what changes outside.
struct header_protection {
  bool hide_subject = false;   // RFC 9788 hcp_baseline: Subject "[...]", no Comments/Keywords
  bool legacy_display = true;  // with hide_subject: the Subject atop the text (RFC 9788 §4.5)
};

// Which protocol seals a message when the keyring can serve both.
enum class protocol_preference {
  openpgp,  // PGP/MIME (or inline PGP); S/MIME only without a usable OpenPGP key
  smime,    // S/MIME (RFC 8551); OpenPGP only without a usable certificate
};

struct seal_settings {
  std::vector<std::string> addresses;  // plain mailboxes (mailbox_problem() is nullopt)
  // The keyring directory, or a template (keyring_template_problem() is
  // nullopt) when `gnupg_home_is_template`, expanded for the first address.
  std::string gnupg_home;
  bool gnupg_home_is_template = false;
  // The directory gpg uses when given none, from the environment it inherits
  // ($GNUPGHOME, else $HOME/.gnupg), or "" if unknown. Only saves time.
  std::string engine_default_home;
  bool key_cache = true;          // remember key choices in the keyring (openpgp/key_cache.hpp)
  std::string temp_dir = "/tmp";  // where the input and the result are spooled
  encrypt_mode mode = encrypt_mode::pgp_mime;
  bool inline_flatten = false;  // gpgit's lossy reduction to one text/plain part
  bool inline_utf8 = false;     // inline text converted to UTF-8 (else in its own charset)
  header_protection headers;    // the same for gpgseal and gpgseal-maildir
  protocol_preference prefer = protocol_preference::openpgp;
};

// Returns why `address` is not a plain mailbox, or nullopt if it is one.
// Rejected: empty; a leading '-', '<', '@', '=', '*' or "0x" (gpg option,
// exact-match, fingerprint, substring and key-ID prefixes); white space or
// control characters; specials outside an atom; not exactly one '@'; an empty
// local part or domain.
std::optional<std::string> mailbox_problem(std::string_view address);

// "<a@example.org>, <b@example.org>": addresses as every message names them.
std::string bracketed_addresses(const std::vector<std::string>& addresses);

// Returns why `pattern` is not a valid keyring template, or nullopt. Valid
// sequences: %u (full address), %n (local part), %d (domain), %% (a percent sign).
std::optional<std::string> keyring_template_problem(std::string_view pattern);

}  // namespace gpgseal
