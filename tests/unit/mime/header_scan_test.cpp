#include "core/mime/header_scan.hpp"

#include <gtest/gtest.h>

#include "core/base/fd_io.hpp"
#include "support/run_core.hpp"

namespace gpgseal {
namespace {

struct scanned {
  std::string text;
  message_layout layout;
  std::string field(std::size_t i) const {
    const auto& r = layout.fields.at(i).raw;
    return text.substr(r.offset, r.length);
  }
  std::string body() const { return text.substr(layout.body_offset); }
};

scanned scan(const std::string& text) {
  auto fd = test::fd_with(text);
  return {text, scan_message(fd.get(), text.size())};
}

TEST(HeaderScan, SplitsFieldsAndBodyAtTheBlankLine) {
  auto s = scan("From: a@b\nSubject: hi\n\nbody\n");
  ASSERT_EQ(s.layout.fields.size(), 2u);
  EXPECT_EQ(s.field(0), "From: a@b\n");
  EXPECT_EQ(s.layout.fields[1].name, "subject");
  EXPECT_EQ(s.body(), "body\n");
  EXPECT_FALSE(s.layout.crlf);
}

TEST(HeaderScan, KeepsFoldedContinuationLinesInTheField) {
  auto s = scan("Subject: one\r\n two\r\n\tthree\r\nTo: x@y\r\n\r\nb");
  ASSERT_EQ(s.layout.fields.size(), 2u);
  EXPECT_EQ(s.field(0), "Subject: one\r\n two\r\n\tthree\r\n");
  EXPECT_TRUE(s.layout.crlf);
  EXPECT_EQ(s.body(), "b");
}

TEST(HeaderScan, KeepsTheMboxEnvelopeLineApart) {
  const std::string envelope = "From alice@example.org Mon Jan  1 00:00:00 2024\n";
  auto s = scan(envelope + "From: a@b\n\nx");
  ASSERT_TRUE(s.layout.mbox_from.has_value());
  EXPECT_EQ(s.layout.mbox_from->length, envelope.size());
  ASSERT_EQ(s.layout.fields.size(), 1u);
  EXPECT_EQ(s.field(0), "From: a@b\n");
}

TEST(HeaderScan, BodyStartsAtTheFirstLineThatIsNotAField) {
  auto s = scan("Subject: x\nthis line has no colon\nNot: a header now\n");
  ASSERT_EQ(s.layout.fields.size(), 1u);
  EXPECT_EQ(s.body(), "this line has no colon\nNot: a header now\n");
}

TEST(HeaderScan, ALeadingContinuationLineIsBody) {
  auto s = scan(" indented first line\nSubject: x\n\n");
  EXPECT_TRUE(s.layout.fields.empty());
  EXPECT_EQ(s.body(), s.text);
}

TEST(HeaderScan, AcceptsWhiteSpaceBeforeTheColon) {
  auto s = scan("Content-Type  : text/plain\n\nx");
  ASSERT_EQ(s.layout.fields.size(), 1u);
  EXPECT_EQ(s.layout.fields[0].name, "content-type");
}

TEST(HeaderScan, EightBitBytesInANameEndTheHeader) {
  auto s = scan("Subject: ok\nSubj\xe9t: no\n\n");
  EXPECT_EQ(s.layout.fields.size(), 1u);
  EXPECT_EQ(s.body(), "Subj\xe9t: no\n\n");
}

TEST(HeaderScan, HeadersOnlyWithoutFinalLineEnd) {
  auto s = scan("Subject: x\nTo: y@z");
  ASSERT_EQ(s.layout.fields.size(), 2u);
  EXPECT_FALSE(s.layout.fields[1].has_line_end);
  EXPECT_EQ(s.layout.body_offset, s.text.size());
}

TEST(HeaderScan, FieldLongerThanTheReadBufferStaysOneField) {
  std::string value(200000, 'v');
  auto s = scan("X-Long: " + value + "\r\nSubject: s\r\n\r\nbody");
  ASSERT_EQ(s.layout.fields.size(), 2u);
  EXPECT_EQ(s.layout.fields[0].raw.length, 8 + value.size() + 2);
  EXPECT_EQ(s.body(), "body");
}

TEST(HeaderScan, RecognisesCrlfSplitAcrossReadBuffers) {
  // Put the CR of a blank line at the last byte of the first 64 KiB read.
  std::string first = "X-Pad: " + std::string(65536 - 7 - 2 - 1, 'p') + "\r\n";
  std::string text = first + "\r\nbody";
  ASSERT_EQ(first.size() + 1, 65536u);
  auto s = scan(text);
  ASSERT_EQ(s.layout.fields.size(), 1u);
  EXPECT_EQ(s.body(), "body");
}

TEST(HeaderScan, EmptyInputHasNoFields) {
  auto s = scan("");
  EXPECT_TRUE(s.layout.fields.empty());
  EXPECT_EQ(s.layout.body_offset, 0u);
}

TEST(HeaderScan, ReadsUnfoldedFieldValues) {
  auto s = scan("Content-Type: multipart/mixed;\r\n boundary=\"b\"\r\n\r\n");
  auto fd = test::fd_with(s.text);
  auto value = read_field_value(fd.get(), s.layout.fields[0], 1024);
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, " multipart/mixed; boundary=\"b\"");
  EXPECT_FALSE(read_field_value(fd.get(), s.layout.fields[0], 10));
}

TEST(HeaderScan, IdentifiesContentFields) {
  EXPECT_TRUE(is_content_field("content-type"));
  EXPECT_TRUE(is_content_field("content-transfer-encoding"));
  EXPECT_FALSE(is_content_field("contents"));
  EXPECT_FALSE(is_content_field("x-content-type"));
}

}  // namespace
}  // namespace gpgseal
