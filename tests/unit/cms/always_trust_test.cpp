// The choice between gpgsm's --always-trust and the Debian 12 way (the root
// in trustlist.txt). Debian 12 has GPGME 1.18 and gpgsm 2.2.40, so only the
// older path runs here for real (the S/MIME round trips); the newer one is
// tested at this decision.
#include "core/cms/always_trust.hpp"

#include <gpgme.h>
#include <gtest/gtest.h>

#include "core/base/library_init.hpp"
#include "support/process.hpp"

namespace gpgseal::detail {
namespace {

TEST(CmsAlwaysTrust, NeedsGpgme123AndGpgsm2242Or244) {
  EXPECT_FALSE(cms_always_trust_works("1.18.0", "2.2.40"));  // Debian 12
  EXPECT_TRUE(cms_always_trust_works("1.23.0", "2.2.42"));
  EXPECT_FALSE(cms_always_trust_works("1.23.0", "2.2.41"));
  EXPECT_TRUE(cms_always_trust_works("1.23.2", "2.4.4"));
  EXPECT_FALSE(cms_always_trust_works("1.23.2", "2.4.3"));
  EXPECT_TRUE(cms_always_trust_works("1.24.1", "2.5.0"));
  EXPECT_TRUE(cms_always_trust_works("2.0.0", "2.4.7"));
}

TEST(CmsAlwaysTrust, OlderGpgmeIgnoresTheFlagWhateverGpgsmKnows) {
  EXPECT_FALSE(cms_always_trust_works("1.22.0", "2.4.4"));
  EXPECT_FALSE(cms_always_trust_works("1.18.0", "2.5.0"));
  EXPECT_FALSE(cms_always_trust_works("0.99.0", "2.5.0"));
}

TEST(CmsAlwaysTrust, TheWholeGpgsm23SeriesLacksIt) {
  EXPECT_FALSE(cms_always_trust_works("1.23.0", "2.3.8"));
  EXPECT_FALSE(cms_always_trust_works("1.23.0", "2.3.99"));
}

TEST(CmsAlwaysTrust, SuffixesAreIgnoredAndGarbageIsNo) {
  EXPECT_TRUE(cms_always_trust_works("1.23.0-unknown", "2.4.4-beta12"));
  for (const char* bad : {"", "2", "2.4", "2..4", "x.4.4", "2.4.x", ".2.4.4", "99999999.4.4"}) {
    EXPECT_FALSE(cms_always_trust_works("1.23.0", bad)) << bad;
    EXPECT_FALSE(cms_always_trust_works(bad, "2.4.4")) << bad;
  }
}

// This machine's versions, as GPGME and gpgsm report them.
TEST(CmsAlwaysTrust, DebianTwelveTakesTheTrustlistWay) {
  initialise_libraries();
  std::string gpgsm = test::run_checked({"gpgsm", "--version"});
  gpgsm = gpgsm.substr(0, gpgsm.find('\n'));
  gpgsm = gpgsm.substr(gpgsm.rfind(' ') + 1);
  const std::string gpgme = gpgme_check_version(nullptr);
  if (gpgme.rfind("1.18.", 0) != 0 || gpgsm.rfind("2.2.", 0) != 0) {
    GTEST_SKIP() << "not Debian 12's GnuPG: GPGME " << gpgme << ", gpgsm " << gpgsm;
  }
  EXPECT_FALSE(cms_always_trust_works(gpgme, gpgsm));
}

}  // namespace
}  // namespace gpgseal::detail
