// Language tags as users and upstream elements give them (BCP 47 such as
// "pt-BR", "zh-Hans", "sr-Latn-RS"; ISO 639-1 "fr"; ISO 639-2/B "fre" or
// /T "fra") turned into what the files need: the mdhd box packs an ISO
// 639-2/T code (three lower-case letters) and the client manifest's
// StreamIndex Language attribute holds the same code (IIS, nginx-vod and
// ExoPlayer read it as ISO 639-2/T); the server manifest's informative
// systemLanguage takes it too.
#pragma once

#include <string>

namespace piff {

// The ISO 639-2/T code of a language tag, case-insensitive, '_' taken as
// '-'. Only the primary language subtag counts: script, region and variant
// subtags are dropped ("pt-BR" -> "por", "zh-Hans" -> "zho", "sr-Latn-RS"
// -> "srp"), as the formats hold a language only. Two letters go through
// the ISO 639-1 table (also the deprecated iw, in, ji), three letters are
// taken as ISO 639-2 (a bibliographic code becomes its terminology twin,
// "fre" -> "fra", "ger" -> "deu"; other three-letter codes, such as
// "und" or ISO 639-3 ones, are kept). False, *out untouched, for what names
// no mappable language: an empty tag, an unknown two-letter code, private
// use ("x-...") and grandfathered ("i-...") tags, or a primary subtag that
// is not 2 or 3 letters.
bool LanguageToIso639_2T(const std::string& tag, std::string* out);

}  // namespace piff
