#include "fragment_start.h"

#include <cstdio>

namespace piff {

std::string DescribeOpenGops(uint64_t affected, uint64_t fragments, double first_seconds, uint32_t first_leading,
                             bool so_far) {
  char head[160];
  std::snprintf(head, sizeof head, "open GOPs: %llu of %llu fragments%s start with leading pictures (the first, at %.3f s, with %u)",
                static_cast<unsigned long long>(affected), static_cast<unsigned long long>(fragments), so_far ? " so far" : "", first_seconds,
                first_leading);
  return std::string(head) +
         ", pictures that follow the keyframe in decode order but are presented before it and refer to the "
         "previous GOP. A player that starts, seeks or switches bitrate at such a fragment cannot decode them "
         "(it drops them or shows damaged pictures). Encode closed GOPs: x264enc option-string=open-gop=0, "
         "ffmpeg -x264-params open-gop=0";
}

}  // namespace piff
