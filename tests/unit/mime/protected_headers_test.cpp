// Protected headers (README "Protected headers", RFC 9788): encrypt, decrypt
// with the test key, and compare the payload root's header fields with the
// original's, in each policy.
#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <string>

#include "support/mail_check.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"
#include "support/test_keyring.hpp"

namespace gpgseal {
namespace {

using test::shared_keys;

struct policy {
  bool hide_subject = false;
  bool legacy_display = true;
};

test::core_run seal(const std::string& input, policy p = {}) {
  auto options = test::options_for(shared_keys().ring.home(), {"alice@example.org"});
  options.headers.hide_subject = p.hide_subject;
  options.headers.legacy_display = p.legacy_display;
  return test::run_core(input, options);
}

std::string corpus(const std::string& name) {
  return test::read_file(std::string(GPGSEAL_TEST_DATA_DIR) + "/" + name);
}

std::string payload_of(const test::core_run& run) {
  return test::decrypted_payload(run.output, shared_keys().ring);
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// The payload's header block, up to its empty line.
std::string header_block(const std::string& payload) {
  return payload.substr(0, payload.find("\n\n") + 1);
}

TEST(ProtectedHeaders, DefaultPolicyCopiesTheFieldsAndKeepsTheOutside) {
  std::string in = corpus("protected-headers-trace-and-list.eml");
  auto run = seal(in);
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring));
  std::string head = header_block(payload_of(run));
  // Folding kept, byte for byte, inside and in the HP-Outer copy.
  const std::string subject =
      "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_dem_Garten=3A_the_tomato_plan_for?=\n"
      " =?UTF-8?Q?_the_spring?=\n";
  EXPECT_NE(head.find("\n" + subject), std::string::npos);
  EXPECT_NE(head.find("\nHP-Outer: " + subject), std::string::npos);
  EXPECT_TRUE(has_line(head, "List-Id: Garden club <garden.lists.example.net>"));
  EXPECT_TRUE(has_line(head, "HP-Outer: List-Id: Garden club <garden.lists.example.net>"));
  for (const char* transit :
       {"Received:", "Return-Path:", "Delivered-To:", "Envelope-to:", "Delivery-date:", "ARC-Seal:",
        "Authentication-Results:", "DKIM-Signature:", "MIME-Version:"}) {
    EXPECT_EQ(head.find(transit), std::string::npos) << transit;
  }
  EXPECT_NE(head.find("Content-Type: multipart/alternative;\n\tboundary=\"=_alt_tomatoes\";\n"
                      "\tprotected-headers=\"v1\"; hp=\"cipher\"\n"),
            std::string::npos)
      << head;
  // The outside is exactly as before: Subject, Comments and Keywords kept.
  auto outer = test::split_message(run.output);
  EXPECT_NE(std::find(outer.fields.begin(), outer.fields.end(), subject), outer.fields.end());
}

TEST(ProtectedHeaders, HiddenSubjectWithoutLegacyDisplay) {
  std::string in = corpus("protected-headers-trace-and-list.eml");
  auto run = seal(in, {true, false});
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring, true));
  std::string head = header_block(payload_of(run));
  EXPECT_TRUE(has_line(head, "HP-Outer: Subject: [...]"));
  EXPECT_TRUE(has_line(head, "Comments: written in the greenhouse"));
  EXPECT_TRUE(has_line(head, "Keywords: tomatoes, spring"));
  EXPECT_EQ(head.find("HP-Outer: Comments"), std::string::npos);
  EXPECT_EQ(head.find("HP-Outer: Keywords"), std::string::npos);
  EXPECT_EQ(head.find("hp-legacy-display"), std::string::npos);
  auto outer = test::split_message(run.output);
  EXPECT_NE(std::find(outer.fields.begin(), outer.fields.end(), "Subject: [...]\n"),
            outer.fields.end());
  for (const auto& f : outer.fields) {
    EXPECT_NE(test::field_name(f), "comments");
    EXPECT_NE(test::field_name(f), "keywords");
  }
}

// The decoded text of the payload's parts, in order, read by GMime.
std::vector<std::pair<std::string, std::string>> text_parts(const std::string& payload) {
  std::vector<std::pair<std::string, std::string>> parts;
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(payload.data(), payload.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeObject* root = g_mime_parser_construct_part(parser, nullptr);
  GMimePartIter* iter = g_mime_part_iter_new(root);
  auto visit = [&](GMimeObject* o) {
    if (!GMIME_IS_TEXT_PART(o)) return;
    const char* legacy = g_mime_object_get_content_type_parameter(o, "hp-legacy-display");
    char* text = g_mime_text_part_get_text(GMIME_TEXT_PART(o));
    parts.emplace_back(legacy ? legacy : "", test::to_lf(text));
    g_free(text);
  };
  visit(root);
  do {
    if (GMimeObject* o = g_mime_part_iter_get_current(iter)) visit(o);
  } while (g_mime_part_iter_next(iter));
  g_mime_part_iter_free(iter);
  g_object_unref(root);
  g_object_unref(parser);
  g_object_unref(stream);
  return parts;
}

TEST(ProtectedHeaders, LegacyDisplayInThePlainAndTheHtmlPart) {
  std::string in = corpus("protected-headers-trace-and-list.eml");
  auto run = seal(in, {true, true});
  ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
  std::string payload = payload_of(run);
  EXPECT_EQ(header_block(payload), test::expected_protected_block(test::split_message(in), true) +
                                       "Content-Type: multipart/alternative;\n"
                                       "\tboundary=\"=_alt_tomatoes\";\n"
                                       "\tprotected-headers=\"v1\"; hp=\"cipher\"\n");
  auto before = text_parts(in);
  auto after = text_parts(payload);
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(after.size(), 2u);
  const std::string subject = "Grüße aus dem Garten: the tomato plan for the spring";
  EXPECT_EQ(after[0].first, "1");
  EXPECT_EQ(after[0].second, "Subject: " + subject + "\n\n" + before[0].second);
  EXPECT_EQ(after[1].first, "1");
  const std::string element =
      "<div class=\"header-protection-legacy-display\"><pre>Subject: " + subject + "</pre></div>";
  std::string html = before[1].second;
  html.insert(html.find("<BODY class=\"mail\">") + 19, element);
  EXPECT_EQ(after[1].second, html);
  // Only the element was added: the quoted-printable lines stay short.
  for (std::size_t at = 0, next; at < payload.size(); at = next + 1) {
    next = payload.find('\n', at);
    if (next == std::string::npos) break;
    EXPECT_LE(next - at, 998u);
  }
}

TEST(ProtectedHeaders, LegacyDisplayOnAPlainRootPart) {
  std::string in =
      "From: b@example.org\nSubject: a <b> & c\nContent-Type: text/plain; charset=us-ascii\n\n"
      "text\n";
  auto run = seal(in, {true, true});
  std::string payload = payload_of(run);
  EXPECT_EQ(payload,
            "From: b@example.org\nSubject: a <b> & c\nHP-Outer: From: b@example.org\n"
            "HP-Outer: Subject: [...]\nContent-Type: text/plain; charset=us-ascii;\n"
            "\tprotected-headers=\"v1\"; hp=\"cipher\"; hp-legacy-display=\"1\"\n\n"
            "Subject: a <b> & c\n\ntext\n");
}

TEST(ProtectedHeaders, NoLegacyDisplayInABase64PartOrWithoutASubject) {
  std::string b64 =
      "From: b@example.org\nSubject: s\nContent-Type: text/plain\n"
      "Content-Transfer-Encoding: base64\n\ndGV4dAo=\n";
  EXPECT_TRUE(test::round_trips(b64, seal(b64, {true, true}).output, shared_keys().ring, true));
  std::string no_subject = "From: b@example.org\n\ntext\n";
  auto run = seal(no_subject, {true, true});
  EXPECT_TRUE(test::round_trips(no_subject, run.output, shared_keys().ring, true));
}

TEST(ProtectedHeaders, AMessageWithoutContentTypeGetsTheDefaultTypeMarked) {
  std::string in = "From: b@example.org\nSubject: s\n\nplain\n";
  auto run = seal(in);
  EXPECT_EQ(payload_of(run),
            "From: b@example.org\nSubject: s\nHP-Outer: From: b@example.org\n"
            "HP-Outer: Subject: s\n"
            "Content-Type: text/plain; protected-headers=\"v1\"; hp=\"cipher\"\n\nplain\n");
}

TEST(ProtectedHeaders, ForgedMarkersInPlaintextAreNeutralised) {
  std::string in = corpus("forged-protected-headers.eml");
  for (bool hide : {false, true}) {
    auto run = seal(in, {hide, false});
    ASSERT_EQ(run.outcome.action, filter_action::encrypted) << run.outcome.detail;
    EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring, hide));
    std::string head = header_block(payload_of(run));
    EXPECT_EQ(head.find("Your Bank"), std::string::npos) << head;
    EXPECT_EQ(head.find("hp=\"clear\""), std::string::npos) << head;
    EXPECT_EQ(head.find("hp-legacy-display"), std::string::npos) << head;
    EXPECT_TRUE(has_line(
        head, "HP-Outer: Subject: " + std::string(hide ? "[...]" : "Your account statement")));
    // Outside they stay as they came, where RFC 9788 gives them no meaning.
    EXPECT_NE(run.output.find("\nHP-Outer: From: Your Bank <security@bank.example>\n"),
              std::string::npos);
  }
}

TEST(ProtectedHeaders, ContentTypeMarkersAreAddedToTheOriginalBytes) {
  EXPECT_TRUE(test::content_type_marked("Content-Type: text/plain;\n",
                                        "Content-Type: text/plain;\n"
                                        "\tprotected-headers=\"v1\"; hp=\"cipher\"\n",
                                        false));
  EXPECT_FALSE(test::content_type_marked("Content-Type: text/plain\n",
                                         "Content-Type: text/html;\n"
                                         "\tprotected-headers=\"v1\"; hp=\"cipher\"\n",
                                         false));
  std::string in = "Subject: s\nContent-Type: text/plain; charset=utf-8;\n\n\xc3\xbc\n";
  auto run = seal(in);
  EXPECT_TRUE(test::round_trips(in, run.output, shared_keys().ring));
  EXPECT_NE(payload_of(run).find("Content-Type: text/plain; charset=utf-8;\n\tprotected-headers="),
            std::string::npos);
}

TEST(ProtectedHeaders, CrlfInputGivesTheSamePayload) {
  std::string lf = corpus("protected-headers-trace-and-list.eml");
  std::string crlf;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(payload_of(seal(crlf, {true, true})), payload_of(seal(lf, {true, true})));
}

}  // namespace
}  // namespace gpgseal
