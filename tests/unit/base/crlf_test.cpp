#include "core/base/crlf.hpp"

#include <gtest/gtest.h>

namespace gpgseal {
namespace {

std::string convert_in_pieces(const std::string& in, std::size_t piece) {
  crlf_encoder encoder;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += piece) {
    encoder.convert(in.data() + i, std::min(piece, in.size() - i), out);
  }
  return out;
}

TEST(Crlf, TurnsBareLfIntoCrlf) { EXPECT_EQ(convert_in_pieces("a\nb\n", 100), "a\r\nb\r\n"); }

TEST(Crlf, LeavesCrlfAndBareCrAlone) {
  EXPECT_EQ(convert_in_pieces("a\r\nb\rc\n", 100), "a\r\nb\rc\r\n");
}

TEST(Crlf, RecognisesCrlfSplitBetweenChunks) {
  EXPECT_EQ(convert_in_pieces("ab\r\ncd\n\r\n", 1), "ab\r\ncd\r\n\r\n");
  EXPECT_EQ(convert_in_pieces("ab\r\ncd\n\r\n", 3), "ab\r\ncd\r\n\r\n");
}

TEST(Crlf, KeepsNulAndEightBitBytes) {
  std::string in("a\0\xff\n", 4);
  EXPECT_EQ(convert_in_pieces(in, 2), std::string("a\0\xff\r\n", 5));
}

}  // namespace
}  // namespace gpgseal
