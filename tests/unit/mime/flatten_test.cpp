#include "core/mime/flatten.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "core/base/library_init.hpp"
#include "core/mime/mime_tree.hpp"
#include "support/process.hpp"
#include "support/run_core.hpp"

namespace gpgseal {
namespace {

// Parses a message and flattens it; the tree stays alive for the result.
struct flattening {
  explicit flattening(const std::string& text) : fd(test::fd_with(text)) {
    initialise_libraries();
    tree = std::make_unique<mime_tree>(fd.get(), scan_message(fd.get(), text.size()));
    result = flatten_to_text(tree->top());
  }
  unique_fd fd;
  std::unique_ptr<mime_tree> tree;
  std::optional<flattened> result;
};

std::string alternative(const std::string& plain, const std::string& html) {
  return "Content-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\n" +
         plain + "\n--A\nContent-Type: text/html\n\n" + html + "\n--A--\n";
}

std::string related(const std::string& html, const std::string& image_id) {
  return "Content-Type: multipart/related; boundary=R\n\n--R\n"
         "Content-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\n"
         "Plain text of the message.\n--A\nContent-Type: text/html\n\n" +
         html + "\n--A--\n--R\nContent-Type: image/png\nContent-ID: <" + image_id +
         ">\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--R--\n";
}

TEST(Flatten, AlternativeKeepsAPlainPartOfTenCharacters) {
  flattening f(alternative("0123456789", "<p>html</p>"));
  ASSERT_TRUE(f.result);
  EXPECT_EQ(f.result->structure, "multipart/alternative(text/plain,text/html)");
}

TEST(Flatten, AlternativeWithAStubPlainPartIsNotFlattened) {
  EXPECT_FALSE(flattening(alternative("  see html ", "<p>html</p>")).result);
  EXPECT_FALSE(flattening(alternative("", "<p>html</p>")).result);
}

TEST(Flatten, AlternativeNeedsPlainThenHtml) {
  std::string reversed =
      "Content-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: "
      "text/html\n\n<p>x</p>\n"
      "--A\nContent-Type: text/plain\n\nplain text long enough\n--A--\n";
  EXPECT_FALSE(flattening(reversed).result);
}

TEST(Flatten, RelatedDropsImagesTheHtmlReferences) {
  flattening f(related("<img src=\"cid:logo@x\">", "logo@x"));
  ASSERT_TRUE(f.result);
  EXPECT_EQ(f.result->structure,
            "multipart/related(multipart/alternative(text/plain,text/html),image/png)");
}

TEST(Flatten, CidReferencesQuotedUnquotedAndSingleQuoted) {
  EXPECT_TRUE(flattening(related("<img src=cid:logo@x>", "logo@x")).result);
  EXPECT_TRUE(flattening(related("<img src='cid:logo@x'/>", "logo@x")).result);
  EXPECT_TRUE(flattening(related("<IMG SRC = \"CID:logo@x\">", "logo@x")).result);
  EXPECT_TRUE(flattening(related("<img src=\"cid:logo%40x\">", "logo@x")).result);
}

TEST(Flatten, AnImageTheHtmlDoesNotReferenceStays) {
  EXPECT_FALSE(flattening(related("<img src=\"cid:other@x\">", "logo@x")).result);
  EXPECT_FALSE(flattening(related("<p>no image here</p>", "logo@x")).result);
}

TEST(Flatten, ASingleChildMultipartBecomesThatChild) {
  flattening f(
      "Content-Type: multipart/mixed; boundary=M\n\n--M\nContent-Type: text/plain\n\n"
      "only child\n--M--\n");
  ASSERT_TRUE(f.result);
  EXPECT_EQ(f.result->structure, "multipart/mixed(text/plain)");
}

TEST(Flatten, MixedWithAnAttachmentIsNotFlattened) {
  EXPECT_FALSE(flattening("Content-Type: multipart/mixed; boundary=M\n\n--M\n"
                          "Content-Type: text/plain\n\ntext\n--M\n"
                          "Content-Type: application/pdf\n\n%PDF\n--M--\n")
                   .result);
}

TEST(Flatten, SinglePartMessagesAreNotFlattened) {
  EXPECT_FALSE(flattening("Content-Type: text/plain\n\nhello\n").result);
}

TEST(Flatten, CollectsCidUrlsFromAttributeValuesOnly) {
  std::vector<std::string> cids;
  collect_cids("<img src=\"cid:a@x\"> text cid:not-this <a href=cid:b@x>", cids);
  EXPECT_NE(std::find(cids.begin(), cids.end(), "a@x"), cids.end());
  EXPECT_NE(std::find(cids.begin(), cids.end(), "b@x"), cids.end());
  EXPECT_EQ(std::find(cids.begin(), cids.end(), "not-this"), cids.end());
}

}  // namespace
}  // namespace gpgseal
