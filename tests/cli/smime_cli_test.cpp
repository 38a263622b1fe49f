// The real gpgseal for an S/MIME user, with the guarantees of the OpenPGP
// path: the log line names the certificate; the failure policies; the
// deadline when gpgsm hangs (nothing truncated is ever written); 100 MiB in
// bounded memory. Every encrypted result is decrypted by openssl, not gpgsm.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "cli/measured_run.hpp"
#include "support/mail_check.hpp"
#include "support/smime_certs.hpp"

namespace gpgseal::test::cli {
namespace {

const std::string alice = "alice@example.org";
const std::string head =
    "From: Sender <sender@example.net>\r\nTo: Alice <alice@example.org>\r\n"
    "Subject: a large S/MIME message\r\n\r\n";

// A keyring where Alice's only certificate is unusable (expired), but whose
// CA is trusted: the missing-key policy decides.
void import_expired_only(smime_keyring& ring) {
  ring.import_cert("bob@example.org", "bob-ca");
  ring.import_raw("alice-expired");
}

std::vector<std::string> args_for(const smime_keyring& ring, std::vector<std::string> options) {
  options.insert(options.end(), {"--gnupghome", ring.home(), alice});
  return options;
}

std::vector<pid_t> gpgsm_processes_using(const std::string& home) {
  std::vector<pid_t> found;
  for (pid_t pid : processes_naming(home)) {
    const std::string cmdline = cmdline_of(pid);
    const std::string program = cmdline.substr(0, cmdline.find('\0'));
    if (program.size() >= 5 && program.compare(program.size() - 5, 5, "gpgsm") == 0) {
      found.push_back(pid);
    }
  }
  return found;
}

// Waits up to 5 s for every gpgsm on `home` to go; kills what is left.
bool gpgsm_gone(const std::string& home) {
  for (int i = 0; i < 500 && !gpgsm_processes_using(home).empty(); ++i) ::usleep(10000);
  auto left = gpgsm_processes_using(home);
  for (pid_t pid : left) ::kill(pid, SIGKILL);
  return left.empty();
}

// `size` bytes of CRLF lines after `head`.
input_pieces large_input(std::size_t mebibytes) {
  std::string line;
  for (int i = 0; i < 1024; ++i) line += std::to_string(i % 10);
  line.replace(line.size() - 2, 2, "\r\n");
  return {head, line, mebibytes * 1024, ""};
}

// The same message as `input`, as the payload gpgseal encrypts: the
// protected header fields and the default Content-Type they mark (`input`
// has no Content-* fields), the empty line, and the body (already CRLF).
input_pieces payload_of(const input_pieces& input) {
  const std::string fields = input.head.substr(0, input.head.size() - 2);
  return {payload_head_without_content_fields(fields), input.repeated, input.count, input.tail};
}

// Decodes the base64 body of `run`'s output and decrypts it with openssl
// into files under `dir`, then compares the plaintext with `expected`
// without holding either in memory.
::testing::AssertionResult openssl_decrypts_to(const measured_run& run, const scratch_dir& dir,
                                               const input_pieces& expected) {
  std::string start(8192, '\0');
  start.resize(pread_full(run.out.get(), start.data(), start.size(), 0));
  if (start.find("Content-Type: application/pkcs7-mime; smime-type=enveloped-data;") ==
      std::string::npos) {
    return ::testing::AssertionFailure() << "not S/MIME: " << start.substr(0, 400);
  }
  const std::size_t body = start.find("\r\n\r\n") + 4;
  {
    std::ofstream out(dir / "sealed", std::ios::binary);
    std::vector<char> buffer(1 << 16);
    for (std::uint64_t at = body; at < run.out_size;) {
      std::size_t n = pread_full(run.out.get(), buffer.data(), buffer.size(), at);
      out.write(buffer.data(), static_cast<std::streamsize>(n));
      at += n;
    }
  }
  const std::string key = test_certs_dir() + "/alice-ca";
  auto decrypted = run_process(
      {"sh", "-c",
       "tr -d '\\r' <\"$0/sealed\" | base64 -d >\"$0/der\" && openssl cms -decrypt -binary "
       "-inform DER -in \"$0/der\" -inkey \"$1.key\" -recip \"$1.pem\" -out \"$0/plain\"",
       dir.path(), key});
  if (decrypted.exit_code != 0) {
    return ::testing::AssertionFailure() << "openssl cms -decrypt failed: " << decrypted.err;
  }
  std::ifstream plain(dir / "plain", std::ios::binary);
  std::vector<char> buffer(1 << 16);
  std::uint64_t offset = 0;
  while (plain.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) ||
         plain.gcount() > 0) {
    std::string_view got(buffer.data(), static_cast<std::size_t>(plain.gcount()));
    if (detail::slice(expected, offset, got.size()) != got) {
      return ::testing::AssertionFailure() << "plaintext differs from byte " << offset << " on";
    }
    offset += got.size();
  }
  if (offset != expected.size()) {
    return ::testing::AssertionFailure()
           << "plaintext has " << offset << " bytes, expected " << expected.size();
  }
  return ::testing::AssertionSuccess();
}

TEST(CliSmime, LogLineNamesTheCertificateFingerprint) {
  smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  const std::string input = plain_message();
  process_result r = run_gpgseal(args_for(ring, {"--log", "stderr"}), input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("<alice@example.org> encrypted with S/MIME to certificate 0x" +
                       cert_fingerprint("alice-ca")),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("Quarterly figures"), std::string::npos) << "message content in the log";
  EXPECT_TRUE(smime_round_trips(input, r.out, "alice-ca"));
}

TEST(CliSmime, UnusableCertificatePassesByDefaultAndSaysWhy) {
  smime_keyring ring;
  import_expired_only(ring);
  const std::string input = plain_message();
  process_result r = run_gpgseal(args_for(ring, {"--log", "stderr"}), input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find("passed through UNENCRYPTED: no usable S/MIME certificate for "
                       "<alice@example.org>"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("certificate 0x" + cert_fingerprint("alice-expired") + " expired"),
            std::string::npos)
      << r.err;
}

TEST(CliSmime, UnusableCertificateWithOnMissingKeyFailWritesNothingAndExits75) {
  smime_keyring ring;
  import_expired_only(ring);
  process_result r = run_gpgseal(args_for(ring, {"--on-missing-key", "fail"}), plain_message());
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_EQ(r.out, "");
}

// gpgsm stopped (SIGSTOP) once it has read 4 MiB of the plaintext: after the
// time limit gpgseal kills it and applies --on-error; what it had sealed so
// far is never written.
measured_run stop_gpgsm_mid_encryption(const smime_keyring& ring, const input_pieces& input,
                                       const std::string& on_error, bool& stopped) {
  stopped = false;
  return run_gpgseal_measured(
      args_for(ring, {"--timeout", "3", "--on-error", on_error, "--log", "stderr"}), input, {},
      [&](pid_t, std::uint64_t) {
        if (stopped) return;
        for (pid_t gpgsm : gpgsm_processes_using(ring.home())) {
          if (io_of(gpgsm, "rchar") > (4u << 20)) stopped = ::kill(gpgsm, SIGSTOP) == 0;
        }
      });
}

TEST(CliSmime, StoppedGpgsmIsKilledAtTheTimeoutAndTheOriginalPasses) {
  smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  const input_pieces input = large_input(32);
  bool stopped = false;
  measured_run run = stop_gpgsm_mid_encryption(ring, input, "pass", stopped);
  ASSERT_TRUE(stopped) << "gpgsm finished before the test could stop it";
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out_size, input.size());
  EXPECT_EQ(detail::slice(input, 0, 4096), run.output().substr(0, 4096));
  EXPECT_NE(run.err.find("--timeout of 3 s and stopped gpgsm;"), std::string::npos) << run.err;
  EXPECT_LT(run.seconds, 10);
  EXPECT_TRUE(gpgsm_gone(ring.home())) << "gpgseal left its stopped gpgsm behind";
}

TEST(CliSmime, StoppedGpgsmWithOnErrorFailWritesNothingAndExits75) {
  smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  bool stopped = false;
  measured_run run = stop_gpgsm_mid_encryption(ring, large_input(32), "fail", stopped);
  ASSERT_TRUE(stopped) << "gpgsm finished before the test could stop it";
  EXPECT_EQ(run.exit_code, 75) << run.err;
  EXPECT_EQ(run.out_size, 0u);
  EXPECT_LT(run.seconds, 10);
  EXPECT_TRUE(gpgsm_gone(ring.home())) << "gpgseal left its stopped gpgsm behind";
}

// gpgsm asks the keyring's gpg-agent whether the root is trusted. An agent
// that hangs (stopped) holds gpgsm up: the deadline still ends the run by
// the policy, and gpgsm does not outlive it.
TEST(CliSmime, HangingAgentIsCutShortByTheDeadline) {
  smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  run_checked({"gpg-connect-agent", "--homedir", ring.home(), "/bye"});
  std::vector<pid_t> agents;
  for (pid_t pid : processes_naming(ring.home())) {
    if (cmdline_of(pid).rfind("gpg-agent", 0) == 0) agents.push_back(pid);
  }
  ASSERT_EQ(agents.size(), 1u) << "no gpg-agent for the keyring";
  ASSERT_EQ(::kill(agents[0], SIGSTOP), 0);
  const std::string input = plain_message();
  measured_run run =
      run_gpgseal_measured(args_for(ring, {"--timeout", "2", "--log", "stderr"}), whole(input));
  const bool gone = gpgsm_gone(ring.home());
  ::kill(agents[0], SIGKILL);  // before ~smime_keyring asks it to stop
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.output() == input) << "stdout is not the original message";
  EXPECT_NE(run.err.find("--timeout of 2 s"), std::string::npos) << run.err;
  EXPECT_LT(run.seconds, 6);
  EXPECT_TRUE(gone) << "gpgseal left gpgsm waiting for the agent";
}

// The bound: 100 MiB within 32 MiB of gpgseal's own RSS.
TEST(CliSmime, HundredMebibyteMessageIsSealedInBoundedMemory) {
  smime_keyring ring;
  ring.import_cert(alice, "alice-ca");
  const input_pieces input = large_input(100);
  measured_run run = run_gpgseal_measured(args_for(ring, {}), input);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  scratch_dir dir;
  EXPECT_TRUE(openssl_decrypts_to(run, dir, payload_of(input)));
  expect_bounded(run);
  if (!sanitized_build) {
    EXPECT_LT(run.peak_rss_kib, 32 * 1024);
  }
}

}  // namespace
}  // namespace gpgseal::test::cli
