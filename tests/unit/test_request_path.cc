// Request paths of on-demand presentations (request_path.h): what parses,
// the status of what does not, and the writer giving the same request back.
#include <glib.h>

#include <string>

#include "request_path.h"
#include "test_util.h"

using namespace piff;

namespace {

unsigned Parse(const char* path, RequestPath* r) {
  std::string why;
  unsigned status = ParseRequestPath(path, r, &why);
  if (status) g_assert_false(why.empty());
  return status;
}

}  // namespace

static void test_parse() {
  RequestPath r;
  g_assert_cmpuint(Parse("/a/b/ladder.ism/Manifest", &r), ==, 0);
  g_assert_true(r.kind == RequestPath::Kind::kManifest);
  EXPECT_STR(r.asset_path, "a/b/ladder.ism");
  g_assert_cmpuint(Parse("/x.ISM/qualitylevels(128000,Compatibility=Handheld,k=v=w)/FragmentInfo(audio=7)", &r), ==,
                   0);
  g_assert_true(r.kind == RequestPath::Kind::kFragment && r.noun == RequestPath::Noun::kFragmentInfo);
  g_assert_cmpuint(r.bitrate, ==, 128000);
  g_assert_cmpuint(r.attributes.size(), ==, 2);
  EXPECT_STR(r.attributes[1].second, "v=w");
  EXPECT_STR(r.track_name, "audio");
  g_assert_cmpuint(r.time, ==, 7);
  g_assert_cmpuint(Parse("/d%20x/y.ism/QualityLevels(1)/KeyFrames(video=18446744073709551615)", &r), ==, 0);
  EXPECT_STR(r.asset_path, "d x/y.ism");
  g_assert_cmpuint(r.time, ==, G_MAXUINT64);

  g_assert_cmpuint(Parse("x.ism/Manifest", &r), ==, 400);                   // relative
  g_assert_cmpuint(Parse("/../x.ism/Manifest", &r), ==, 400);               // dot segment
  g_assert_cmpuint(Parse("/%2E%2E/x.ism/Manifest", &r), ==, 400);           // encoded dot segment
  g_assert_cmpuint(Parse("/x%2Fy.ism/Manifest", &r), ==, 400);              // encoded '/'
  g_assert_cmpuint(Parse("/x.ism/Manifest%00", &r), ==, 400);               // encoded NUL
  g_assert_cmpuint(Parse("/x.ism/QualityLevels(4294967296)/Fragments(v=0)", &r), ==, 400);  // > uint32
  g_assert_cmpuint(Parse("/x.ism/QualityLevels(1)/Fragments(v=18446744073709551616)", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.ism/QualityLevels(1,novalue)/Fragments(v=0)", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.ism/QualityLevels(1)/Fragments(=0)", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.ism/QualityLevels(1)/Fragments(v=-1)", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.ism/QualityLevels(1)/Chunks(v=0)", &r), ==, 404);   // unknown noun
  g_assert_cmpuint(Parse("/x.ism/QualityLevels(1)/Fragments(v=0)/more", &r), ==, 404);
  g_assert_cmpuint(Parse("/x.ism", &r), ==, 404);
  g_assert_cmpuint(Parse("/nothing/here", &r), ==, 404);
}

// Live publishing points: NAME.isml, its manifest and fragments as for
// .ism, and the encoders' Streams(id) (optionally after Events(id)).
static void test_parse_live() {
  RequestPath r;
  g_assert_cmpuint(Parse("/live/ch1.isml/Streams(ch1)", &r), ==, 0);
  g_assert_true(r.kind == RequestPath::Kind::kIngest);
  g_assert_true(r.live());
  EXPECT_STR(r.asset_path, "live/ch1.isml");
  EXPECT_STR(r.stream_id, "ch1");
  g_assert_true(r.event_id.empty());
  g_assert_cmpuint(Parse("/ch.ISML/events(e%201)/streams(720p,a=b)", &r), ==, 0);
  g_assert_true(r.kind == RequestPath::Kind::kIngest);
  EXPECT_STR(r.event_id, "e 1");
  EXPECT_STR(r.stream_id, "720p,a=b");
  g_assert_cmpuint(Parse("/a/ch1.isml/Manifest", &r), ==, 0);
  g_assert_true(r.kind == RequestPath::Kind::kManifest && r.live());
  g_assert_cmpuint(Parse("/a/ch1.isml/QualityLevels(300000)/Fragments(video=0)", &r), ==, 0);
  g_assert_true(r.kind == RequestPath::Kind::kFragment && r.live());
  g_assert_cmpuint(Parse("/a/x.ism/Streams(s)", &r), ==, 0);  // parsed; the origin refuses uploads to VOD
  g_assert_false(r.live());
  g_assert_cmpuint(Parse("/x.isml/Streams()", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.isml/Streams(a(b))", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.isml/Streams(a", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.isml/Events()/Streams(a)", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.isml/Events(e)/Streams(a)/more", &r), ==, 404);
  g_assert_cmpuint(Parse("/x.isml/Events(e)", &r), ==, 400);
  g_assert_cmpuint(Parse("/x.isml", &r), ==, 404);
}

static void test_format_round_trip() {
  const char* paths[] = {
      "/a/b/ladder.ism/Manifest",
      "/d%20x/(y)%25.ism/QualityLevels(1,k=v=w,a%3Bb=c%20d)/RawFragments(t,x=5)",
      "/x.ism/QualityLevels(4294967295)/Fragments(video=18446744073709551615)",
      "/l/ch%201.isml/Streams(a%20b,c=d)",
      "/ch1.isml/Events(ev)/Streams(720p)",
      "/ch1.isml/QualityLevels(1)/Fragments(video=5)",
  };
  for (const char* p : paths) {
    RequestPath r, again;
    g_assert_cmpuint(Parse(p, &r), ==, 0);
    std::string f = FormatRequestPath(r);
    g_assert_cmpuint(Parse(f.c_str(), &again), ==, 0);
    g_assert_true(again == r);
    EXPECT_STR(FormatRequestPath(again), f);
  }
  RequestPath r;
  r.kind = RequestPath::Kind::kFragment;
  r.asset_path = "live/a b.ism";
  r.bitrate = 400000;
  r.track_name = "video";
  r.time = 20000000;
  EXPECT_STR(FormatRequestPath(r), "/live/a%20b.ism/QualityLevels(400000)/Fragments(video=20000000)");
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/request-path/parse", test_parse);
  g_test_add_func("/request-path/parse-live", test_parse_live);
  g_test_add_func("/request-path/format", test_format_round_trip);
  return g_test_run();
}
