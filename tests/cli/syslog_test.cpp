// The syslog line an admin reads: facility mail, ident gpgseal, the outcome,
// the address, the key, and never any message content. The test listens on
// /dev/log itself, which it can do only as root on a machine without a
// syslog daemon (as in CI); elsewhere it skips rather than disturb the host.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <optional>

#include "cli_support.hpp"
#include "support/mail_check.hpp"
#include "support/smime_certs.hpp"

namespace gpgseal::test::cli {
namespace {

constexpr const char* log_socket = "/dev/log";

// A datagram socket bound at /dev/log for the lifetime of the object.
class syslog_sink {
 public:
  syslog_sink() {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", log_socket);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    timeval timeout{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~syslog_sink() {
    if (bound_) ::unlink(log_socket);
    if (fd_ >= 0) ::close(fd_);
  }
  syslog_sink(const syslog_sink&) = delete;
  syslog_sink& operator=(const syslog_sink&) = delete;

  bool bound() const { return bound_; }

  // The next datagram, or nullopt after the timeout.
  std::optional<std::string> next() {
    char buffer[8192];
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

bool can_listen() { return ::geteuid() == 0 && ::access(log_socket, F_OK) != 0; }

// RFC 3164 priority: facility mail (2) * 8 + severity.
std::string priority_prefix(int severity) { return "<" + std::to_string(2 * 8 + severity) + ">"; }

TEST(CliSyslog, EncryptedMessageLineNamesAddressAndKeyButNoContent) {
  if (!can_listen()) GTEST_SKIP() << "needs root and no syslog daemon on /dev/log";
  syslog_sink sink;
  ASSERT_TRUE(sink.bound());
  const std::string input = plain_message();
  process_result r = run_gpgseal(with_shared_ring({"alice@example.org"}), input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto line = sink.next();
  ASSERT_TRUE(line.has_value()) << "no syslog datagram";
  EXPECT_EQ(line->rfind(priority_prefix(6), 0), 0u) << *line;  // info
  EXPECT_NE(line->find("gpgseal["), std::string::npos) << *line;
  EXPECT_NE(line->find("<alice@example.org> encrypted to 0x" + shared_keys().alice),
            std::string::npos)
      << *line;
  EXPECT_NE(line->find(std::to_string(input.size()) + " bytes in"), std::string::npos) << *line;
  std::string subject = input.substr(input.find("Subject: ") + 9);
  subject = subject.substr(0, subject.find('\n'));
  EXPECT_EQ(line->find(subject), std::string::npos) << "message content in the log";
}

// An S/MIME user's line names the certificate gpgsm encrypted to.
TEST(CliSyslog, SmimeLineNamesTheCertificateFingerprint) {
  if (!can_listen()) GTEST_SKIP() << "needs root and no syslog daemon on /dev/log";
  smime_keyring ring;
  ring.import_cert("alice@example.org", "alice-ca");
  syslog_sink sink;
  ASSERT_TRUE(sink.bound());
  const std::string input = plain_message();
  process_result r = run_gpgseal({"--gnupghome", ring.home(), "alice@example.org"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(smime_round_trips(input, r.out, "alice-ca"));
  // gpgsm starts the keyring's gpg-agent, which logs there as well.
  auto line = sink.next();
  while (line && line->find("gpgseal[") == std::string::npos) line = sink.next();
  ASSERT_TRUE(line.has_value()) << "no syslog datagram";
  EXPECT_EQ(line->rfind(priority_prefix(6), 0), 0u) << *line;  // info
  EXPECT_NE(line->find("<alice@example.org> encrypted with S/MIME to certificate 0x" +
                       cert_fingerprint("alice-ca")),
            std::string::npos)
      << *line;
  EXPECT_EQ(line->find("Quarterly figures"), std::string::npos) << "message content in the log";
}

TEST(CliSyslog, MissingKeyIsANoticeWithTheReason) {
  if (!can_listen()) GTEST_SKIP() << "needs root and no syslog daemon on /dev/log";
  syslog_sink sink;
  ASSERT_TRUE(sink.bound());
  process_result r = run_gpgseal(with_shared_ring({"dave@example.org"}), plain_message());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto line = sink.next();
  ASSERT_TRUE(line.has_value()) << "no syslog datagram";
  EXPECT_EQ(line->rfind(priority_prefix(5), 0), 0u) << *line;  // notice
  EXPECT_NE(line->find("no usable encryption key for <dave@example.org>"), std::string::npos)
      << *line;
  EXPECT_NE(line->find("expired"), std::string::npos) << *line;
}

TEST(CliSyslog, FailureIsAnErrorOnBothSyslogAndStderr) {
  if (!can_listen()) GTEST_SKIP() << "needs root and no syslog daemon on /dev/log";
  syslog_sink sink;
  ASSERT_TRUE(sink.bound());
  const std::string input = plain_message();
  process_result r =
      run_gpgseal({"--gnupghome", "/nonexistent/keyring", "alice@example.org"}, input);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, input);
  auto line = sink.next();
  ASSERT_TRUE(line.has_value()) << "no syslog datagram";
  EXPECT_EQ(line->rfind(priority_prefix(3), 0), 0u) << *line;  // err
  EXPECT_NE(line->find("/nonexistent/keyring"), std::string::npos) << *line;
  EXPECT_NE(r.err.find("/nonexistent/keyring"), std::string::npos) << r.err;
}

// The opt-in choice (--on-missing-keyring pass): the same missing keyring as
// above is a notice, and stderr (Dovecot's Error log) stays empty.
TEST(CliSyslog, MissingKeyringUnderPassIsANoticeOnly) {
  if (!can_listen()) GTEST_SKIP() << "needs root and no syslog daemon on /dev/log";
  syslog_sink sink;
  ASSERT_TRUE(sink.bound());
  const std::string input = plain_message();
  process_result r = run_gpgseal(
      {"--gnupghome", "/nonexistent/keyring", "--on-missing-keyring", "pass", "alice@example.org"},
      input);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, input);
  EXPECT_EQ(r.err, "");
  auto line = sink.next();
  ASSERT_TRUE(line.has_value()) << "no syslog datagram";
  EXPECT_EQ(line->rfind(priority_prefix(5), 0), 0u) << *line;  // notice
  EXPECT_NE(line->find("no keyring directory"), std::string::npos) << *line;
  EXPECT_NE(line->find("/nonexistent/keyring"), std::string::npos) << *line;
}

// Fills the daemon's queue from another socket, as a stalled journald leaves
// it, so that the next blocking send would wait until someone reads.
bool fill_queue() {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", log_socket);
  bool full = false;
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string filler(512, 'x');
    for (int i = 0; i < 100000 && !full; ++i) {
      full = ::send(fd, filler.data(), filler.size(), 0) < 0 && errno == EAGAIN;
    }
  }
  if (fd >= 0) ::close(fd);
  return full;
}

TEST(CliSyslog, AStalledSyslogDaemonDoesNotHoldUpTheMessage) {
  if (!can_listen()) GTEST_SKIP() << "needs root and no syslog daemon on /dev/log";
  syslog_sink sink;
  ASSERT_TRUE(sink.bound());
  ASSERT_TRUE(fill_queue());
  const std::string input = plain_message();
  auto run = std::async(std::launch::async, [&] {
    return run_gpgseal(with_shared_ring({"alice@example.org"}), input);
  });
  bool prompt = run.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  while (!prompt && sink.next()) {
    // Unblock a gpgseal stuck in send() so that the test ends.
  }
  EXPECT_TRUE(prompt) << "gpgseal waited for the syslog daemon";
  process_result r = run.get();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(round_trips(input, r.out, shared_keys().ring));
}

}  // namespace
}  // namespace gpgseal::test::cli
