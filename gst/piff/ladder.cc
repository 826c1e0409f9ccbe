// AlignLadder and FirstIdenticalStreams. See ladder.h for the rules.
#include "ladder.h"

#include <algorithm>

namespace piff {

namespace {

bool SameStarts(const std::vector<FragmentTime>& a, const std::vector<FragmentTime>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (a[i].time != b[i].time) return false;
  return true;
}

std::string Difference(const std::vector<FragmentTime>& t, const std::vector<FragmentTime>& ref) {
  size_t n = std::min(t.size(), ref.size());
  for (size_t f = 0; f < n; f++)
    if (t[f].time != ref[f].time)
      return "fragment " + std::to_string(f) + " starts at " + std::to_string(t[f].time) + ", the timeline's at " +
             std::to_string(ref[f].time);
  return std::to_string(t.size()) + " fragments, the timeline has " + std::to_string(ref.size());
}

}  // namespace

LadderAlignment AlignLadder(const std::vector<const std::vector<FragmentTime>*>& timelines) {
  LadderAlignment r;
  const size_t n = timelines.size();
  if (n == 0) return r;
  size_t best_count = 0;
  for (size_t i = 0; i < n; i++) {
    size_t count = 0;
    for (size_t j = 0; j < n; j++) count += SameStarts(*timelines[i], *timelines[j]);
    if (count > best_count) {
      best_count = count;
      r.reference = i;
    }
  }
  r.aligned.resize(n);
  r.reasons.resize(n);
  for (size_t i = 0; i < n; i++) {
    r.aligned[i] = SameStarts(*timelines[i], *timelines[r.reference]);
    if (!r.aligned[i]) r.reasons[i] = Difference(*timelines[i], *timelines[r.reference]);
  }
  return r;
}

std::vector<size_t> FirstIdenticalStreams(const std::vector<StreamFingerprint>& streams) {
  std::vector<size_t> first(streams.size());
  for (size_t i = 0; i < streams.size(); i++) {
    first[i] = i;
    for (size_t j = 0; j < i; j++)
      if (streams[j] == streams[i]) {
        first[i] = j;
        break;
      }
  }
  return first;
}

}  // namespace piff
