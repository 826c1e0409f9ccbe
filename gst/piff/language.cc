// Language tags to ISO 639-2/T codes (see language.h). The two tables are
// ISO 639-1 -> ISO 639-2/T and ISO 639-2/B -> ISO 639-2/T, as the
// ISO 639-2 registration authority lists them.
#include "language.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace piff {

namespace {

struct CodePair {
  const char* from;
  const char* to;
};

// Sorted by `from`.
constexpr CodePair kIso639_1[] = {
    {"aa", "aar"}, {"ab", "abk"}, {"ae", "ave"}, {"af", "afr"}, {"ak", "aka"}, {"am", "amh"}, {"an", "arg"},
    {"ar", "ara"}, {"as", "asm"}, {"av", "ava"}, {"ay", "aym"}, {"az", "aze"}, {"ba", "bak"}, {"be", "bel"},
    {"bg", "bul"}, {"bh", "bih"}, {"bi", "bis"}, {"bm", "bam"}, {"bn", "ben"}, {"bo", "bod"}, {"br", "bre"},
    {"bs", "bos"}, {"ca", "cat"}, {"ce", "che"}, {"ch", "cha"}, {"co", "cos"}, {"cr", "cre"}, {"cs", "ces"},
    {"cu", "chu"}, {"cv", "chv"}, {"cy", "cym"}, {"da", "dan"}, {"de", "deu"}, {"dv", "div"}, {"dz", "dzo"},
    {"ee", "ewe"}, {"el", "ell"}, {"en", "eng"}, {"eo", "epo"}, {"es", "spa"}, {"et", "est"}, {"eu", "eus"},
    {"fa", "fas"}, {"ff", "ful"}, {"fi", "fin"}, {"fj", "fij"}, {"fo", "fao"}, {"fr", "fra"}, {"fy", "fry"},
    {"ga", "gle"}, {"gd", "gla"}, {"gl", "glg"}, {"gn", "grn"}, {"gu", "guj"}, {"gv", "glv"}, {"ha", "hau"},
    {"he", "heb"}, {"hi", "hin"}, {"ho", "hmo"}, {"hr", "hrv"}, {"ht", "hat"}, {"hu", "hun"}, {"hy", "hye"},
    {"hz", "her"}, {"ia", "ina"}, {"id", "ind"}, {"ie", "ile"}, {"ig", "ibo"}, {"ii", "iii"}, {"ik", "ipk"},
    {"in", "ind"}, {"io", "ido"}, {"is", "isl"}, {"it", "ita"}, {"iu", "iku"}, {"iw", "heb"}, {"ja", "jpn"},
    {"ji", "yid"}, {"jv", "jav"}, {"ka", "kat"}, {"kg", "kon"}, {"ki", "kik"}, {"kj", "kua"}, {"kk", "kaz"},
    {"kl", "kal"}, {"km", "khm"}, {"kn", "kan"}, {"ko", "kor"}, {"kr", "kau"}, {"ks", "kas"}, {"ku", "kur"},
    {"kv", "kom"}, {"kw", "cor"}, {"ky", "kir"}, {"la", "lat"}, {"lb", "ltz"}, {"lg", "lug"}, {"li", "lim"},
    {"ln", "lin"}, {"lo", "lao"}, {"lt", "lit"}, {"lu", "lub"}, {"lv", "lav"}, {"mg", "mlg"}, {"mh", "mah"},
    {"mi", "mri"}, {"mk", "mkd"}, {"ml", "mal"}, {"mn", "mon"}, {"mr", "mar"}, {"ms", "msa"}, {"mt", "mlt"},
    {"my", "mya"}, {"na", "nau"}, {"nb", "nob"}, {"nd", "nde"}, {"ne", "nep"}, {"ng", "ndo"}, {"nl", "nld"},
    {"nn", "nno"}, {"no", "nor"}, {"nr", "nbl"}, {"nv", "nav"}, {"ny", "nya"}, {"oc", "oci"}, {"oj", "oji"},
    {"om", "orm"}, {"or", "ori"}, {"os", "oss"}, {"pa", "pan"}, {"pi", "pli"}, {"pl", "pol"}, {"ps", "pus"},
    {"pt", "por"}, {"qu", "que"}, {"rm", "roh"}, {"rn", "run"}, {"ro", "ron"}, {"ru", "rus"}, {"rw", "kin"},
    {"sa", "san"}, {"sc", "srd"}, {"sd", "snd"}, {"se", "sme"}, {"sg", "sag"}, {"si", "sin"}, {"sk", "slk"},
    {"sl", "slv"}, {"sm", "smo"}, {"sn", "sna"}, {"so", "som"}, {"sq", "sqi"}, {"sr", "srp"}, {"ss", "ssw"},
    {"st", "sot"}, {"su", "sun"}, {"sv", "swe"}, {"sw", "swa"}, {"ta", "tam"}, {"te", "tel"}, {"tg", "tgk"},
    {"th", "tha"}, {"ti", "tir"}, {"tk", "tuk"}, {"tl", "tgl"}, {"tn", "tsn"}, {"to", "ton"}, {"tr", "tur"},
    {"ts", "tso"}, {"tt", "tat"}, {"tw", "twi"}, {"ty", "tah"}, {"ug", "uig"}, {"uk", "ukr"}, {"ur", "urd"},
    {"uz", "uzb"}, {"ve", "ven"}, {"vi", "vie"}, {"vo", "vol"}, {"wa", "wln"}, {"wo", "wol"}, {"xh", "xho"},
    {"yi", "yid"}, {"yo", "yor"}, {"za", "zha"}, {"zh", "zho"}, {"zu", "zul"},
};

// The twenty ISO 639-2 bibliographic codes that differ from the terminology ones.
constexpr CodePair kIso639_2B[] = {
    {"alb", "sqi"}, {"arm", "hye"}, {"baq", "eus"}, {"bur", "mya"}, {"chi", "zho"}, {"cze", "ces"}, {"dut", "nld"},
    {"fre", "fra"}, {"geo", "kat"}, {"ger", "deu"}, {"gre", "ell"}, {"ice", "isl"}, {"mac", "mkd"}, {"mao", "mri"},
    {"may", "msa"}, {"per", "fas"}, {"rum", "ron"}, {"slo", "slk"}, {"tib", "bod"}, {"wel", "cym"},
};

template <size_t N>
const char* Lookup(const CodePair (&table)[N], const std::string& code) {
  auto it = std::lower_bound(std::begin(table), std::end(table), code,
                             [](const CodePair& p, const std::string& c) { return std::strcmp(p.from, c.c_str()) < 0; });
  return it != std::end(table) && code == it->from ? it->to : nullptr;
}

}  // namespace

bool LanguageToIso639_2T(const std::string& tag, std::string* out) {
  std::string primary;
  for (char c : tag) {
    if (c == '-' || c == '_') break;
    primary.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (primary.size() < 2 || primary.size() > 3) return false;  // also "x-..." and "i-..."
  for (char c : primary)
    if (c < 'a' || c > 'z') return false;
  if (primary.size() == 2) {
    const char* t = Lookup(kIso639_1, primary);
    if (!t) return false;
    *out = t;
    return true;
  }
  const char* t = Lookup(kIso639_2B, primary);
  *out = t ? t : primary;
  return true;
}

}  // namespace piff
