// Regression tests for the header split on hostile input (issue 6): memory
// that grew with field-name length, and the part scanner detect.cpp uses.
#include <gtest/gtest.h>

#include "core/mime/header_scan.hpp"
#include "support/run_core.hpp"

namespace gpgseal {
namespace {

message_layout scan(const std::string& text) {
  auto fd = test::fd_with(text);
  return scan_message(fd.get(), text.size());
}

// 100,000 fields with 1 KiB names used to keep 100 MiB of names in memory.
TEST(HeaderScanRegression, KeepsOnlyTheStartOfALongFieldName) {
  std::string name(1000, 'N');
  auto layout = scan(name + ": v\nSubject: s\n\nbody\n");
  ASSERT_EQ(layout.fields.size(), 2u);
  EXPECT_EQ(layout.fields[0].name, std::string(max_kept_name, 'n'));
  EXPECT_EQ(layout.fields[0].raw.length, name.size() + 4);
  EXPECT_EQ(layout.fields[1].name, "subject");
}

TEST(HeaderScanRegression, ALongContentNameIsStillAContentField) {
  auto layout = scan("Content-" + std::string(500, 'x') + ": v\n\nbody\n");
  ASSERT_EQ(layout.fields.size(), 1u);
  EXPECT_TRUE(is_content_field(layout.fields[0].name));
}

TEST(HeaderScanRegression, NameWhoseColonIsPastTheFirstKibibyteIsBody) {
  std::string line = std::string(line_prefix_limit, 'N') + ": v\n";
  auto layout = scan("Subject: s\n" + line + "\nbody\n");
  ASSERT_EQ(layout.fields.size(), 1u);
  EXPECT_EQ(layout.body_offset, 11u);
}

TEST(HeaderScanRegression, FieldsPastTheLimitAreBody) {
  std::string text;
  for (std::size_t i = 0; i <= max_header_fields; ++i) text += "X: v\n";
  auto layout = scan(text + "\nbody\n");
  EXPECT_EQ(layout.fields.size(), max_header_fields);
  EXPECT_EQ(layout.body_offset, max_header_fields * 5);
}

TEST(HeaderScanRegression, PartScanHasNoEnvelopeAndSpoolOffsets) {
  std::string text = "preamble\nFrom me\nContent-Type: text/plain\n\npart body\n";
  auto fd = test::fd_with(text);
  message_layout part = scan_part(fd.get(), byte_range{9, text.size() - 9});
  EXPECT_FALSE(part.mbox_from.has_value());
  // "From me" is no field and no envelope here: the part is all body.
  EXPECT_TRUE(part.fields.empty());
  EXPECT_EQ(part.body_offset, 9u);
  EXPECT_EQ(part.size, text.size());
  part = scan_part(fd.get(), byte_range{17, text.size() - 17});
  ASSERT_EQ(part.fields.size(), 1u);
  EXPECT_EQ(part.fields[0].raw.offset, 17u);
  EXPECT_EQ(text.substr(part.body_offset), "part body\n");
}

TEST(HeaderScanRegression, SpoolLinesStopAtTheEndOfTheRange) {
  std::string text = "one\r\ntwo\nthree";
  auto fd = test::fd_with(text);
  spool_lines lines(fd.get(), 5, 12);
  spool_line line;
  ASSERT_TRUE(lines.next(line));
  EXPECT_EQ(line.prefix, "two\n");
  EXPECT_EQ(line.line_end_size, 1u);
  ASSERT_TRUE(lines.next(line));
  EXPECT_EQ(line.prefix, "thr");
  EXPECT_EQ(line.line_end_size, 0u);
  EXPECT_FALSE(lines.next(line));
}

}  // namespace
}  // namespace gpgseal
