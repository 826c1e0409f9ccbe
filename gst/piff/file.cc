// PiffFile: top-level box scan, model parse and exact re-serialisation.
#include "file.h"

#include <map>

namespace piff {

Status PiffFile::Parse(const uint8_t* data, size_t size, PiffFile* out) {
  *out = PiffFile();
  // Every moof is kept, so samples without bytes behind them are counted
  // over the whole file, not per box.
  uint64_t unbacked_budget = kMaxUnbackedEntries;
  size_t off = 0;
  while (off < size) {
    BoxHeader h;
    Status s = ParseBoxHeader(data + off, size - off, &h);
    if (!s) return s.WithContext("top-level box at offset " + std::to_string(off));
    TopBox top;
    top.type = h.type;
    top.offset = off;
    top.size = h.size;
    const uint8_t* p = data + off;
    size_t n = static_cast<size_t>(h.size);
    auto context = [&](const char* name) { return std::string(name) + "@" + std::to_string(off); };
    if (h.type == MakeFourCC("ftyp") && !out->ftyp) {
      out->ftyp.emplace();
      if (!(s = out->ftyp->Parse(p, n))) return s.WithContext(context("ftyp"));
      top.kind = Kind::kFtyp;
    } else if (h.type == MakeFourCC("uuid") && h.usertype == kLiveServerManifestUuid && !out->live_manifest) {
      out->live_manifest.emplace();
      if (!(s = out->live_manifest->Parse(p, n))) return s;
      top.kind = Kind::kLiveServerManifest;
    } else if (h.type == MakeFourCC("moov") && !out->moov) {
      out->moov.emplace();
      if (!(s = out->moov->Parse(p, n))) return s;
      top.kind = Kind::kMoov;
    } else if (h.type == MakeFourCC("moof")) {
      out->moofs.emplace_back();
      if (!(s = out->moofs.back().Parse(p, n, &unbacked_budget))) return s.WithContext(context("moof"));
      top.kind = Kind::kMoof;
      top.index = out->moofs.size() - 1;
    } else if (h.type == MakeFourCC("mfra") && !out->mfra) {
      out->mfra.emplace();
      if (!(s = out->mfra->Parse(p, n))) return s.WithContext(context("mfra"));
      top.kind = Kind::kMfra;
    } else {
      top.kind = h.type == MakeFourCC("mdat") ? Kind::kMdat : Kind::kOther;
      out->raw.emplace_back(p, p + n);
      top.index = out->raw.size() - 1;
    }
    out->layout.push_back(top);
    off += n;
  }
  return Status::Ok();
}

std::vector<uint8_t> PiffFile::Write() const {
  std::vector<uint8_t> out;
  for (const TopBox& t : layout) {
    switch (t.kind) {
      case Kind::kFtyp: ftyp->Write(out); break;
      case Kind::kLiveServerManifest: live_manifest->Write(out); break;
      case Kind::kMoov: moov->Write(out); break;
      case Kind::kMoof: moofs[t.index].Write(out); break;
      case Kind::kMfra: mfra->Write(out); break;
      case Kind::kMdat:
      case Kind::kOther: out.insert(out.end(), raw[t.index].begin(), raw[t.index].end()); break;
    }
  }
  return out;
}

namespace {
uint64_t LookupEnd(uint32_t track_id, void* user) {
  auto* ends = static_cast<std::map<uint32_t, uint64_t>*>(user);
  auto it = ends->find(track_id);
  return it == ends->end() ? 0 : it->second;
}
}  // namespace

Status PiffFile::Fragments(std::vector<TrackFragmentSamples>* out) const {
  std::map<uint32_t, uint64_t> ends;
  for (const TopBox& t : layout) {
    if (t.kind != Kind::kMoof) continue;
    std::vector<TrackFragmentSamples> frags;
    Status s = ReadFragment(moofs[t.index], t.offset, moov ? &*moov : nullptr, LookupEnd, &ends, &frags);
    if (!s) return s;
    for (auto& f : frags) {
      ends[f.track_id] = f.decode_time + f.duration;
      out->push_back(std::move(f));
    }
  }
  return Status::Ok();
}

}  // namespace piff
