// Fuzz target: the whole filter with a real key, as Dovecot would run it.
// Invariants, for every input: the outcome is encrypted or passed through
// (never an error: the key is good); a pass-through is byte for byte the input
// and is ciphertext by the structural rules; an encrypted result has the
// RFC 3156 structure, keeps every outer field byte for byte, decrypts to
// exactly the Content-* fields and the body, and leaves no temp file behind.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/mime/header_scan.hpp"
#include "fuzz/fuzz_support.hpp"
#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace {

using gpgseal::fuzz::require;

struct fixture {
  gpgseal::test::test_keyring ring;  // INSECURE throwaway key, removed at exit
  std::string temp_dir = gpgseal::test::make_temp_dir();
  fixture() { ring.generate("Alice <alice@example.org>"); }
  ~fixture() { gpgseal::test::remove_tree(temp_dir); }
};

fixture& the_fixture() {
  static fixture f;
  return f;
}

bool stays_outside(const std::string& name) {
  return name.rfind("content-", 0) != 0 && name != "dkim-signature" &&
         name != "domainkey-signature";
}

// The output up to the added Content-Type: envelope line and outer fields
// exactly as received, then MIME-Version if the input had none.
std::string expected_head(const std::string& input, const gpgseal::message_layout& layout) {
  std::string eol = layout.crlf ? "\r\n" : "\n";
  std::string head;
  if (layout.mbox_from) head += input.substr(0, layout.mbox_from->length);
  bool has_version = false;
  for (const auto& field : layout.fields) {
    has_version |= field.name == "mime-version";
    if (!stays_outside(field.name)) continue;
    head += input.substr(field.raw.offset, field.raw.length);
    if (!field.has_line_end) head += eol;
  }
  if (!has_version) head += "MIME-Version: 1.0" + eol;
  return head + "Content-Type: multipart/encrypted;" + eol;
}

void check_encrypted(const std::string& input, const std::string& output) {
  auto fd = gpgseal::test::fd_with(input);
  gpgseal::message_layout layout = gpgseal::scan_message(fd.get(), input.size());
  require(output.rfind(expected_head(input, layout), 0) == 0, "outer header fields changed");
  std::string armored;
  auto structure = gpgseal::test::has_pgp_mime_structure(output, &armored);
  require(bool(structure), structure.message());
  std::string payload = the_fixture().ring.decrypt(armored);
  auto expected = gpgseal::fuzz::expected_payload(input, layout);
  gpgseal::fuzz::require(
      expected ? payload == *expected : gpgseal::fuzz::payload_is_marked(payload, input, layout),
      "payload differs from the protected fields, Content-* fields and body");
}

void check_passed(const std::string& input, const gpgseal::test::core_run& run) {
  require(run.outcome.reason == gpgseal::pass_reason::already_encrypted,
          "passed through for a reason other than encryption: " + run.outcome.detail);
  require(run.output == input, "pass-through changed the message");
  auto fd = gpgseal::test::fd_with(input);
  gpgseal::message_layout layout = gpgseal::scan_message(fd.get(), input.size());
  gpgseal::fuzz::check_protection(input, layout, gpgseal::detect_protection(fd.get(), layout));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  the_fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto options = gpgseal::test::options_for(the_fixture().ring.home(), {"alice@example.org"});
  options.temp_dir = the_fixture().temp_dir;
  auto run = gpgseal::test::run_core(input, options);
  require(std::filesystem::is_empty(options.temp_dir), "a temp file was left behind");
  if (input.empty()) {
    require(run.outcome.reason == gpgseal::pass_reason::empty_input && run.output.empty(),
            "empty input was not refused");
  } else if (run.outcome.action == gpgseal::filter_action::encrypted) {
    check_encrypted(input, run.output);
  } else {
    check_passed(input, run);
  }
  return 0;
}
