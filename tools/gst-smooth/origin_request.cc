// The development origin's requests (origin_internal.h): the conditional,
// range and negotiation headers, and Resolve, which turns a request (its path
// parsed by the core, request_path.h) into a response on an event loop or,
// when that would block, on the pool.
#include <algorithm>
#include <cstring>
#include <limits>

#include "keyframes.h"
#include "media_index.h"
#include "origin_internal.h"

namespace gst_smooth {

// ------------------------------------------------------------ headers

// If-None-Match: "*" or a list of (possibly weak) entity tags.
bool EtagMatches(const std::string& header, const std::string& etag) {
  if (header.empty()) return false;
  GSList* list = soup_header_parse_list(header.c_str());
  bool hit = false;
  for (GSList* l = list; l && !hit; l = l->next) {
    const char* v = static_cast<const char*>(l->data);
    if (g_str_has_prefix(v, "W/")) v += 2;
    hit = std::strcmp(v, "*") == 0 || etag == v;
  }
  soup_header_free_list(list);
  return hit;
}

// Accept-Encoding allows gzip: listed (or "*") with a non-zero q.
bool AcceptsGzip(const char* header) {
  if (!header) return false;
  GSList* unacceptable = nullptr;
  GSList* acceptable = soup_header_parse_quality_list(header, &unacceptable);
  bool gzip_refused = false, gzip = false, star = false;
  for (GSList* l = unacceptable; l; l = l->next) {
    const char* v = static_cast<const char*>(l->data);
    gzip_refused |= !g_ascii_strcasecmp(v, "gzip") || !g_ascii_strcasecmp(v, "x-gzip");
  }
  for (GSList* l = acceptable; l; l = l->next) {
    const char* v = static_cast<const char*>(l->data);
    gzip |= !g_ascii_strcasecmp(v, "gzip") || !g_ascii_strcasecmp(v, "x-gzip");
    star |= !std::strcmp(v, "*");
  }
  soup_header_free_list(acceptable);
  soup_header_free_list(unacceptable);
  return gzip || (star && !gzip_refused);
}

// ------------------------------------------------------------ byte ranges

namespace {

void SkipSpaces(const char** p) {
  while (**p == ' ' || **p == '\t') (*p)++;
}

// At least one digit; a value past uint64 saturates (a position that large
// is past any end, a suffix that large is the whole body).
bool ParseRangeNumber(const char** p, uint64_t* out) {
  if (**p < '0' || **p > '9') return false;
  uint64_t v = 0;
  for (; **p >= '0' && **p <= '9'; (*p)++) {
    uint64_t d = static_cast<uint64_t>(**p - '0');
    v = v > (std::numeric_limits<uint64_t>::max() - d) / 10 ? std::numeric_limits<uint64_t>::max() : v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace

RangeAnswer ChooseRange(const char* range, const char* if_range, const std::string& etag, uint64_t length,
                        ByteSpan* span) {
  if (!range) return RangeAnswer::kWhole;
  // If-Range: strong comparison with the current ETag; anything else (a
  // date, a weak or older tag) means "send it all".
  if (if_range && etag != if_range) return RangeAnswer::kWhole;
  const char* p = range;
  SkipSpaces(&p);
  if (g_ascii_strncasecmp(p, "bytes", 5) != 0) return RangeAnswer::kWhole;
  p += 5;
  SkipSpaces(&p);
  if (*p++ != '=') return RangeAnswer::kWhole;
  // Several ranges would need multipart/byteranges: RFC 9110 lets a server
  // ignore Range, and players ask for one range at a time.
  if (std::strchr(p, ',')) return RangeAnswer::kWhole;
  SkipSpaces(&p);
  uint64_t first = 0, last = 0;
  bool suffix = *p == '-', have_last = false;
  if (suffix) {
    p++;
    SkipSpaces(&p);
    if (!ParseRangeNumber(&p, &last)) return RangeAnswer::kWhole;
  } else {
    if (!ParseRangeNumber(&p, &first)) return RangeAnswer::kWhole;
    SkipSpaces(&p);
    if (*p++ != '-') return RangeAnswer::kWhole;
    SkipSpaces(&p);
    if (*p) {
      if (!ParseRangeNumber(&p, &last)) return RangeAnswer::kWhole;
      have_last = true;
    }
  }
  SkipSpaces(&p);
  if (*p) return RangeAnswer::kWhole;
  if (suffix) {
    if (last == 0 || length == 0) return RangeAnswer::kUnsatisfiable;
    span->size = std::min(last, length);
    span->start = length - span->size;
    return RangeAnswer::kPartial;
  }
  if (have_last && last < first) return RangeAnswer::kWhole;  // invalid, so ignored
  if (first >= length) return RangeAnswer::kUnsatisfiable;
  span->start = first;
  span->size = (have_last ? std::min(last, length - 1) : length - 1) - first + 1;
  return RangeAnswer::kPartial;
}

std::string ContentRange(const ByteSpan& span, uint64_t length) {
  return "bytes " + std::to_string(span.start) + "-" + std::to_string(span.start + span.size - 1) + "/" +
         std::to_string(length);
}

// ------------------------------------------------------------ Resolve

namespace {

bool SetError(Response* r, unsigned status, const std::string& why) {
  r->status = status;
  r->error = why;
  r->headers.clear();
  return true;
}

// 416, with the length the client can ask for instead.
bool SetUnsatisfiable(Response* r, uint64_t length) {
  SetError(r, 416, "the range starts at or past the end of the " + std::to_string(length) + "-byte body");
  r->headers = {{"Content-Range", "bytes */" + std::to_string(length)}};
  return true;
}

// Keeps `span` of a body made of `prefix` and then `ranges` of a file.
void SliceBody(const ByteSpan& span, std::vector<uint8_t>* prefix, std::vector<piff::ByteRange>* ranges) {
  uint64_t skip = span.start, want = span.size;
  std::vector<uint8_t> kept_prefix;
  if (skip < prefix->size()) {
    uint64_t n = std::min<uint64_t>(prefix->size() - skip, want);
    kept_prefix.assign(prefix->begin() + skip, prefix->begin() + skip + n);
    want -= n;
    skip = 0;
  } else {
    skip -= prefix->size();
  }
  std::vector<piff::ByteRange> kept;
  for (const piff::ByteRange& r : *ranges) {
    if (!want) break;
    if (skip >= r.size) {
      skip -= r.size;
      continue;
    }
    uint64_t n = std::min(r.size - skip, want);
    kept.push_back({r.offset + skip, n});
    want -= n;
    skip = 0;
  }
  *prefix = std::move(kept_prefix);
  *ranges = std::move(kept);
}

// Every key=value of the request is one of the level's CustomAttributes
// (names and values compared exactly; a request may leave some out).
bool AttributesMatch(const std::vector<std::pair<std::string, std::string>>& asked,
                     const piff::AttributeList& level) {
  for (const auto& kv : asked)
    if (std::find(level.begin(), level.end(), kv) == level.end()) return false;
  return true;
}

const char* ContentTypeOf(const piff::AssetTrack& t, OriginRequest::Noun noun) {
  if (noun == OriginRequest::Noun::kRawFragments) return "application/octet-stream";
  return t.kind == "audio" ? "audio/mp4" : "video/mp4";
}

}  // namespace

bool Origin::Impl::Resolve(const RequestInfo& info, bool may_block, Response* out) {
  const OriginRequest& req = info.request;
  std::shared_ptr<const LoadedAsset> la;
  if (!may_block) {
    if (!(la = cache.Peek(req.asset_path))) return false;
  } else {
    // Resolve symlinks too: a link inside the root must not reach outside it.
    std::string joined = root + "/" + req.asset_path;
    GCharPtr real(realpath(joined.c_str(), nullptr));
    std::string ism = real ? real.get() : "";
    struct stat st;
    if (ism.compare(0, root.size() + 1, root + "/") != 0 || ::stat(ism.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return SetError(out, 404, "no such asset: " + req.asset_path);
    cache.RememberPath(req.asset_path, ism);
    la = cache.Get(ism, &out->asset_loaded);
    if (!la->error.empty()) return SetError(out, 500, "cannot load " + req.asset_path + ": " + la->error);
  }
  const piff::Asset& asset = *la->asset;

  if (req.kind == OriginRequest::Kind::kManifest) {
    out->served = Served::kManifest;
    bool gz = info.gzip_ok && la->manifest_gz;
    std::string etag = "\"" + la->manifest_etag + (gz ? "-gz" : "") + "\"";
    out->content_type = "text/xml";
    out->headers = {{"ETag", etag},
                    {"Last-Modified", la->manifest_last_modified},
                    {"Cache-Control", manifest_cache_control},
                    {"Vary", "Accept-Encoding"}};
    if (gz) out->headers.emplace_back("Content-Encoding", "gzip");
    if (EtagMatches(info.if_none_match, etag)) {
      out->status = 304;
      return true;
    }
    GBytes* whole = gz ? la->manifest_gz.get() : la->manifest.get();
    uint64_t length = g_bytes_get_size(whole);
    ByteSpan span;
    RangeAnswer ra = ChooseRange(info.range ? info.range->c_str() : nullptr,
                                 info.if_range ? info.if_range->c_str() : nullptr, etag, length, &span);
    if (ra == RangeAnswer::kUnsatisfiable) return SetUnsatisfiable(out, length);
    if (ra == RangeAnswer::kPartial) {
      out->status = 206;
      out->headers.emplace_back("Content-Range", ContentRange(span, length));
      out->body.reset(g_bytes_new_from_bytes(whole, span.start, span.size));
    } else {
      out->status = 200;
      out->headers.emplace_back("Accept-Ranges", "bytes");
      out->body.reset(g_bytes_ref(whole));
    }
    return true;
  }

  const piff::AssetTrack* track = asset.FindTrack(req.bitrate, req.track_name);
  if (!track)
    return SetError(out, 404, "no track \"" + req.track_name + "\" at QualityLevels(" +
                                  std::to_string(req.bitrate) + ")");
  if (!req.attributes.empty() &&
      !AttributesMatch(req.attributes, la->track_attributes[track - asset.tracks().data()]))
    return SetError(out, 404, "the QualityLevels(" + std::to_string(req.bitrate) + ",...) attributes are not " +
                                  "CustomAttributes of the " + req.track_name + " track at that bitrate");
  ptrdiff_t fi = track->track->FindFragment(req.time);
  if (fi < 0 || !track->track->fragments[fi].HasData())
    return SetError(out, 404, "no " + req.track_name + " fragment at time " + std::to_string(req.time));
  const piff::IndexedFragment& frag = track->track->fragments[fi];
  using Noun = OriginRequest::Noun;
  // Anything but a plain byte range of the file needs the moof read and
  // rewritten: pool work.
  bool plain = !frag.NeedsRewrite() && (req.noun == Noun::kFragments || req.noun == Noun::kFragmentInfo);
  if (!may_block && !plain) return false;
  const piff::AssetMedia& media = asset.media()[track->media];
  piff::FileByteSource& src = *media.source;
  const piff::MovieBox* moov = media.index.moov ? &*media.index.moov : nullptr;
  const FileStamp& ms = la->media_stamps[track->media];

  piff::FragmentBody body;
  piff::Status s;
  char noun_tag = 'F';
  switch (req.noun) {
    case Noun::kFragments:
      out->served = Served::kFragment;
      if (plain)
        body.ranges.push_back({frag.moof_offset, frag.end_offset - frag.moof_offset});
      else
        s = piff::BuildTrackFragment(src, moov, frag, track->track_id, piff::SampleSelection::kAll, &body);
      break;
    case Noun::kFragmentInfo:
      out->served = Served::kFragmentInfo;
      noun_tag = 'I';
      if (plain) {
        body.ranges.push_back({frag.moof_offset, frag.moof_size});
      } else if ((s = piff::BuildTrackFragment(src, moov, frag, track->track_id, piff::SampleSelection::kAll,
                                               &body))) {
        body.header.resize(body.moof_size);
        body.ranges.clear();
      }
      break;
    case Noun::kKeyFrames:
      out->served = Served::kKeyFrames;
      noun_tag = 'K';
      if (frag.sync_samples == 0)
        return SetError(out, 404, "the " + req.track_name + " fragment at " + std::to_string(req.time) +
                                      " has no keyframe");
      s = piff::BuildKeyFramesFragment(src, moov, frag, track->track_id, &body);
      break;
    case Noun::kRawFragments:
      out->served = Served::kRawFragment;
      noun_tag = 'R';
      if ((s = piff::BuildTrackFragment(src, moov, frag, track->track_id, piff::SampleSelection::kAll, &body)))
        body.header.clear();
      break;
  }
  if (!s) return SetError(out, 500, "cannot build the response: " + s.message());

  // The entity tag names the file version (size, mtime), the fragment, the
  // track and the noun, so a changed file never revalidates an old copy.
  char etag[128];
  g_snprintf(etag, sizeof etag, "\"%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%x%c\"",
             static_cast<guint64>(ms.size), static_cast<guint64>(ms.mtime_ns),
             static_cast<guint64>(frag.moof_offset), track->track_id, noun_tag);
  out->content_type = ContentTypeOf(*track, req.noun);
  out->headers = {{"ETag", etag},
                  {"Last-Modified", la->media_last_modified[track->media]},
                  {"Cache-Control", fragment_cache_control}};
  out->media = track->media;
  out->etag = etag;
  if (EtagMatches(info.if_none_match, etag)) {
    out->status = 304;
    return true;
  }
  uint64_t length = body.size();
  ByteSpan span;
  RangeAnswer ra = ChooseRange(info.range ? info.range->c_str() : nullptr,
                               info.if_range ? info.if_range->c_str() : nullptr, out->etag, length, &span);
  if (ra == RangeAnswer::kUnsatisfiable) return SetUnsatisfiable(out, length);
  // Accept-Ranges on 200s, as nginx: a 206 says it by itself.
  out->status = ra == RangeAnswer::kPartial ? 206 : 200;
  out->headers.emplace_back(ra == RangeAnswer::kPartial ? "Content-Range" : "Accept-Ranges",
                            ra == RangeAnswer::kPartial ? ContentRange(span, length) : "bytes");
  out->asset = la;
  out->fd = la->media_fds[track->media].get();
  out->length = ra == RangeAnswer::kPartial ? span.size : length;
  out->prefix = std::move(body.header);
  out->cursor.ranges = std::move(body.ranges);
  // A plain range of at most kMaxCachedBody is read whole and kept in the
  // fragment cache (a part is then cut from it); anything else streams in
  // kChunkSize pieces, a part from where it starts. Either way the first
  // read comes with the lookup, without a pool round trip when the pages are
  // in the page cache.
  bool cacheable = plain && length <= kMaxCachedBody;
  if (ra == RangeAnswer::kPartial && !cacheable) SliceBody(span, &out->prefix, &out->cursor.ranges);
  if (info.head || out->cursor.done()) return true;
  std::string err;
  if (cacheable) {
    const piff::ByteRange whole = out->cursor.ranges[0];
    if ((out->first_chunk = fragments->Get(la->id, whole.offset, whole.size))) {
      out->cache_hit = true;
    } else {
      ReadStatus r = ReadPieces(out->fd, {whole}, !may_block, &out->first_chunk, &err);
      if (r == ReadStatus::kWouldBlock) return false;
      if (r == ReadStatus::kError) return SetError(out, 500, err);
      fragments->Put(la->id, whole.offset, whole.size, out->first_chunk.get());
    }
    out->cursor.Next(whole.size);
    out->hot = true;
    if (ra == RangeAnswer::kPartial)
      out->first_chunk.reset(g_bytes_new_from_bytes(out->first_chunk.get(), span.start, span.size));
    return true;
  }
  ReadStatus r = ReadPieces(out->fd, out->cursor.Next(kChunkSize), !may_block, &out->first_chunk, &err);
  if (r == ReadStatus::kWouldBlock) return false;
  if (r == ReadStatus::kError) return SetError(out, 500, err);
  return true;
}

}  // namespace gst_smooth
