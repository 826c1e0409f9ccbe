// Core language tags -> ISO 639-2/T (what mdhd and the .ismc Language
// attribute hold): BCP 47 tags with script/region subtags, ISO 639-1,
// ISO 639-2/B and /T, and what cannot be mapped.
#include <string>

#include "language.h"
#include "test_util.h"

using piff::LanguageToIso639_2T;

static std::string Map(const char* tag) {
  std::string out = "(none)";
  return LanguageToIso639_2T(tag, &out) ? out : "(none)";
}

static void TestBcp47() {
  EXPECT_STR(Map("pt-BR"), "por");
  EXPECT_STR(Map("en-US"), "eng");
  EXPECT_STR(Map("zh-Hans"), "zho");
  EXPECT_STR(Map("zh-Hant-TW"), "zho");
  EXPECT_STR(Map("sr-Latn-RS"), "srp");
  EXPECT_STR(Map("de-CH-1901"), "deu");
  EXPECT_STR(Map("pt_BR"), "por");    // POSIX locale form
  EXPECT_STR(Map("EN-gb"), "eng");    // case-insensitive
  EXPECT_STR(Map("fra-FR"), "fra");
  EXPECT_STR(Map("yue-HK"), "yue");   // ISO 639-3 primary subtag kept
}

static void TestIsoCodes() {
  EXPECT_STR(Map("fr"), "fra");
  EXPECT_STR(Map("fre"), "fra");
  EXPECT_STR(Map("fra"), "fra");
  EXPECT_STR(Map("de"), "deu");
  EXPECT_STR(Map("ger"), "deu");
  EXPECT_STR(Map("chi"), "zho");
  EXPECT_STR(Map("wel"), "cym");
  EXPECT_STR(Map("en"), "eng");
  EXPECT_STR(Map("ENG"), "eng");
  EXPECT_STR(Map("nb"), "nob");
  EXPECT_STR(Map("iw"), "heb");  // deprecated, still met in Java/Android locales
  EXPECT_STR(Map("und"), "und");
  EXPECT_STR(Map("zu"), "zul");
  EXPECT_STR(Map("aa"), "aar");
}

static void TestUnmappable() {
  for (const char* tag : {"", "-", "e", "qq", "xx", "x-klingon", "i-klingon", "english", "en1", "1en", "e n"})
    EXPECT_STR(Map(tag), "(none)");
  std::string out = "kept";
  g_assert_false(LanguageToIso639_2T("qq", &out));
  EXPECT_STR(out, "kept");
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/language/bcp47", TestBcp47);
  g_test_add_func("/language/iso-codes", TestIsoCodes);
  g_test_add_func("/language/unmappable", TestUnmappable);
  return g_test_run();
}
