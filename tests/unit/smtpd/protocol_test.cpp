// gpgseal-smtpd's protocol parser and session table (src/cli/smtpd), fed the
// lines Debian's smtpd 6.8.0p2 sends (tests/e2e/mta/OPENSMTPD-PROTOCOL.md).
#include "cli/smtpd/protocol.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "cli/smtpd/responder.hpp"
#include "cli/smtpd/sessions.hpp"

namespace gpgseal::smtpd {
namespace {

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
  return s;
}

TEST(SmtpdProtocol, ParsesADataLineWithPipesWhole) {
  auto p = parse_line(
      "filter|0.6|1796402467.002387|smtp-in|data-line|d2654be07ad75127|1627b65f55b7bbf3|a|b||c");
  ASSERT_EQ(p.type, line_type::filter);
  EXPECT_EQ(p.version, "0.6");
  EXPECT_EQ(p.name, "data-line");
  EXPECT_EQ(p.session, "d2654be07ad75127");
  EXPECT_EQ(p.token, "1627b65f55b7bbf3");
  EXPECT_EQ(p.rest, "a|b||c");
}

TEST(SmtpdProtocol, ParsesAnEmptyDataLine) {
  auto p = parse_line("filter|0.6|1.0|smtp-in|data-line|d2654be07ad75127|1627b65f55b7bbf3|");
  ASSERT_EQ(p.type, line_type::filter);
  EXPECT_EQ(p.rest, "");
}

TEST(SmtpdProtocol, ParsesReportsAndConfig) {
  auto r =
      parse_line("report|0.6|1.0|smtp-in|tx-rcpt|d2654be07ad75127|a2df4f54|ok|alice@example.org");
  ASSERT_EQ(r.type, line_type::report);
  EXPECT_EQ(r.name, "tx-rcpt");
  std::string_view rest = r.rest;
  EXPECT_EQ(next_field(rest), "a2df4f54");
  EXPECT_EQ(next_field(rest), "ok");
  EXPECT_EQ(rest, "alice@example.org");
  auto c = parse_line("config|ready");
  ASSERT_EQ(c.type, line_type::config);
  EXPECT_EQ(c.key, "ready");
}

TEST(SmtpdProtocol, MalformedLinesAreNamedNotThrown) {
  for (const char* line :
       {"", "|", "hello", "filter", "filter|0.6|1.0|smtp-in|data-line|zz|aa|x",
        "filter|0.6|1.0|smtp-in|data-line|d2654be07ad75127", "report|0.6", "config"}) {
    auto p = parse_line(line);
    EXPECT_EQ(p.type, line_type::malformed) << line;
    EXPECT_FALSE(p.why.empty()) << line;
  }
}

TEST(SmtpdProtocol, AnswersPutSessionBeforeToken) {
  EXPECT_EQ(result_line("s1", "t1", "proceed"), "filter-result|s1|t1|proceed\n");
  EXPECT_EQ(dataline_line("s1", "t1", ".."), "filter-dataline|s1|t1|..\n");
}

TEST(SmtpdSessions, SpoolsUnstuffedLinesAndHandsOverAtTheDot) {
  session_table table("/tmp");
  table.connect("a1");
  table.begin("a1");
  table.add_recipient("a1", "alice@example.org");
  table.add_recipient("a1", "bob@example.org");
  table.add_recipient("a1", "alice@example.org");
  EXPECT_FALSE(table.data_line("a1", "t1", "Subject: x"));
  EXPECT_FALSE(table.data_line("a1", "t1", ""));
  EXPECT_FALSE(table.data_line("a1", "t1", "..leading dot"));
  EXPECT_EQ(table.in_data(), 1U);
  auto m = table.data_line("a1", "t1", ".");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->token, "t1");
  EXPECT_EQ(m->recipients, (std::vector<std::string>{"alice@example.org", "bob@example.org"}));
  EXPECT_EQ(read_all(m->spool.fd()), "Subject: x\n\n.leading dot\n");
  EXPECT_EQ(table.in_data(), 0U);
}

TEST(SmtpdSessions, InterleavedSessionsStayApart) {
  session_table table("/tmp");
  table.add_recipient("a", "a@example.org");
  table.add_recipient("b", "b@example.org");
  table.data_line("a", "ta", "from a");
  table.data_line("b", "tb", "from b");
  auto mb = table.data_line("b", "tb", ".");
  auto ma = table.data_line("a", "ta", ".");
  ASSERT_TRUE(ma && mb);
  EXPECT_EQ(read_all(ma->spool.fd()), "from a\n");
  EXPECT_EQ(read_all(mb->spool.fd()), "from b\n");
  EXPECT_EQ(ma->recipients, std::vector<std::string>{"a@example.org"});
}

TEST(SmtpdSessions, ResetAndDisconnectInMidDataFreeEverything) {
  session_table table("/tmp");
  table.add_recipient("a", "a@example.org");
  table.data_line("a", "t", "half a message");
  EXPECT_TRUE(table.spooling("a"));
  table.reset("a");
  EXPECT_FALSE(table.spooling("a"));
  EXPECT_EQ(table.in_data(), 0U);
  table.data_line("b", "t", "half a message");
  table.disconnect("b");
  EXPECT_FALSE(table.knows("b"));
  EXPECT_EQ(table.in_data(), 0U);
  // After the reset, a's next message has no recipients of the old one.
  auto m = table.data_line("a", "t2", ".");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->recipients.empty());
}

TEST(SmtpdResponder, StreamsBackStuffedLinesWithoutTheDot) {
  int in[2], out[2];
  ASSERT_EQ(::pipe(in), 0);
  ASSERT_EQ(::pipe(out), 0);
  std::string message = "A: b\r\n\r\n.dot\nlast without newline";
  ASSERT_EQ(::write(in[1], message.data(), message.size()), static_cast<ssize_t>(message.size()));
  ::close(in[1]);
  responder r(out[1]);
  EXPECT_TRUE(stream_back(r, in[0], "s", "t", [] { return true; }));
  ::close(out[1]);
  EXPECT_EQ(read_all(out[0]),
            "filter-dataline|s|t|A: b\nfilter-dataline|s|t|\nfilter-dataline|s|t|..dot\n"
            "filter-dataline|s|t|last without newline\n");
  ::close(in[0]);
  ::close(out[0]);
}

}  // namespace
}  // namespace gpgseal::smtpd
