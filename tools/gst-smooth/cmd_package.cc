// gst-smooth package: the per-bitrate MP4s an encoder farm produces (each
// with its video and usually the same audio) into one Smooth Streaming
// presentation, NAME.ismv + NAME.ism + NAME.ismc, as mp4split users do in
// three steps. Pass 1 (package_probe) reads every input and fingerprints its
// audio; identical audio is kept once (piff::FirstIdenticalStreams). Pass 2
// is one pipeline, filesrc ! qtdemux ! h264parse/aacparse ! ismvmux !
// filesink, so the fragmenting and the ladder-alignment rule (a level that
// cannot serve the timeline is left out, piff::AlignLadder) are ismvmux's
// and the core's, not this command's.
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "asset.h"
#include "commands.h"
#include "file_io.h"
#include "package_probe.h"

using namespace piff;

namespace {

// A pass that sees no sample (and no message) for this long has stalled.
constexpr GstClockTime kStallTimeout = 60 * GST_SECOND;

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: gst-smooth package -o NAME.ismv [OPTIONS] INPUT.mp4...\n"
               "  -o, --output NAME.ismv      media file to write; NAME.ism and NAME.ismc go beside it\n"
               "  --fragment-duration MS      target fragment duration in milliseconds (default 2000)\n"
               "  --h264-fourcc H264|AVC1     FourCC of the video QualityLevels (default H264)\n"
               "  --export DIR                also write the static layout (Manifest, QualityLevels(b)/...)\n"
               "                              into DIR, as gst-smooth export does\n"
               "  --strict                    fail at the first keyframe that does not line up across\n"
               "                              the ladder (ismvmux strict-alignment) instead of leaving\n"
               "                              the level out of the manifests\n"
               "  --quiet                     no progress line\n"
               "  encryption, passed to ismvmux's properties of the same names:\n"
               "  --encryption none|piff-ctr|piff-cbc  --key-id UUID  --key-id-guid B64|HEX\n"
               "  --content-key-file FILE (32 hex digits; or --content-key HEX, visible in ps)\n"
               "  --iv HEX  --la-url URL  --playready-header B64\n"
               "Exit status: 0 written, 3 written with QualityLevels left out (misaligned ladder),\n"
               "1 failed (NAME.ism/NAME.ismc removed, no partial NAME.ismv), 2 usage.\n");
}

struct Options {
  std::string ismv, export_dir;
  std::vector<std::pair<std::string, std::string>> props;  // ismvmux property, value
  bool strict = false, quiet = false;
  std::vector<std::string> inputs;
};

// One demuxed stream of one input and where it goes.
struct Route {
  size_t input = 0;
  std::string demux_pad;
  GstPad* mux_pad = nullptr;       // null: dropped (duplicate audio, unsupported)
  std::atomic<uint64_t> position{0};  // last PTS seen after the parser (progress)
};

struct MuxRun {
  GstElement* pipeline = nullptr;
  std::vector<std::unique_ptr<Route>> routes;
};

struct DemuxContext {
  MuxRun* run = nullptr;
  size_t input = 0;
};

std::string StripMediaExtension(const std::string& p) {
  for (const char* ext : {".ismv", ".isma"}) {
    size_t n = std::char_traits<char>::length(ext);
    if (p.size() > n && p.compare(p.size() - n, n, ext) == 0) return p.substr(0, p.size() - n);
  }
  return p;
}

std::string Basename(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

GstPadProbeReturn OnParsed(GstPad*, GstPadProbeInfo* info, gpointer data) {
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  if (GST_BUFFER_PTS_IS_VALID(b)) static_cast<Route*>(data)->position = GST_BUFFER_PTS(b);
  return GST_PAD_PROBE_OK;
}

GstElement* AddElement(GstElement* bin, const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (e) gst_bin_add(GST_BIN(bin), e);
  return e;
}

// qtdemux pad -> queue ! parser ! ismvmux pad, or -> fakesink when dropped.
void OnDemuxPad(GstElement*, GstPad* pad, gpointer data) {
  auto* ctx = static_cast<DemuxContext*>(data);
  gchar* name = gst_pad_get_name(pad);
  Route* route = nullptr;
  for (auto& r : ctx->run->routes)
    if (r->input == ctx->input && r->demux_pad == name) route = r.get();
  bool video = g_str_has_prefix(name, "video");
  g_free(name);
  GstElement* bin = ctx->run->pipeline;
  std::vector<GstElement*> chain;
  if (route && route->mux_pad) {
    GstElement* q = AddElement(bin, "queue");
    // Unbounded: an input may interleave its tracks coarsely, and the muxer
    // waits for every track of every input.
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", static_cast<guint64>(0), nullptr);
    chain = {q, AddElement(bin, video ? "h264parse" : "aacparse")};
  } else {
    GstElement* sink = AddElement(bin, "fakesink");
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
    chain = {sink};
  }
  for (GstElement* e : chain)
    if (!e) return;  // the missing element makes qtdemux post not-linked
  for (size_t i = 0; i + 1 < chain.size(); i++) gst_element_link(chain[i], chain[i + 1]);
  for (GstElement* e : chain) gst_element_sync_state_with_parent(e);
  GstPad* in = gst_element_get_static_pad(chain.front(), "sink");
  gst_pad_link(pad, in);
  gst_object_unref(in);
  if (route && route->mux_pad) {
    GstPad* out = gst_element_get_static_pad(chain.back(), "src");
    gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, OnParsed, route, nullptr);
    gst_pad_link(out, route->mux_pad);
    gst_object_unref(out);
  }
}

bool ParseArgs(int argc, char** argv, Options* o, int* rc) {
  *rc = 2;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gst-smooth package: %s needs a value\n", a.c_str());
        return nullptr;
      }
      return argv[++i];
    };
    static const char* const kPassThrough[] = {"encryption", "key-id", "key-id-guid", "content-key",
                                               "iv",         "la-url", "playready-header", "h264-fourcc"};
    bool passed = false;
    for (const char* p : kPassThrough)
      if (a == std::string("--") + p) {
        const char* v = value();
        if (!v) return false;
        o->props.emplace_back(p, v);
        passed = true;
      }
    if (passed) continue;
    if (a == "-o" || a == "--output") {
      const char* v = value();
      if (!v) return false;
      o->ismv = v;
    } else if (a == "--export") {
      const char* v = value();
      if (!v) return false;
      o->export_dir = v;
    } else if (a == "--fragment-duration") {
      const char* v = value();
      if (!v) return false;
      char* end = nullptr;
      guint64 ms = g_ascii_strtoull(v, &end, 10);
      if (!*v || *end || ms == 0 || ms > 600000) {
        std::fprintf(stderr, "gst-smooth package: --fragment-duration: '%s' is not 1..600000 ms\n", v);
        return false;
      }
      o->props.emplace_back("fragment-duration", std::to_string(ms * GST_MSECOND));
    } else if (a == "--content-key-file") {
      const char* v = value();
      if (!v) return false;
      std::string key;
      Status s = ReadTextFile(v, 1024, &key);
      if (!s) {
        std::fprintf(stderr, "gst-smooth package: --content-key-file: %s\n", s.message().c_str());
        *rc = 1;
        return false;
      }
      key.erase(std::remove_if(key.begin(), key.end(), [](char c) { return g_ascii_isspace(c); }), key.end());
      o->props.emplace_back("content-key", key);
    } else if (a == "--strict") {
      o->strict = true;
    } else if (a == "--quiet") {
      o->quiet = true;
    } else if (a == "-h" || a == "--help") {
      Usage(stdout);
      *rc = 0;
      return false;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "gst-smooth package: unknown option '%s'\n", a.c_str());
      Usage(stderr);
      return false;
    } else {
      o->inputs.push_back(a);
    }
  }
  if (o->ismv.empty() || o->inputs.empty()) {
    std::fprintf(stderr, "gst-smooth package: %s\n", o->ismv.empty() ? "-o NAME.ismv is required" : "no input files");
    Usage(stderr);
    return false;
  }
  return true;
}

struct Outcome {
  bool failed = false;
  guint left_out = 0, levels = 0;
  std::vector<std::string> warnings;
};

// Runs the pipeline to EOS, printing a progress line; the muxer's element
// message tells a left-out level (an error after the files are written)
// from a failure.
Outcome RunMux(MuxRun& run, GstClockTime total, bool quiet) {
  Outcome o;
  GstBus* bus = gst_element_get_bus(run.pipeline);
  if (gst_element_set_state(run.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    o.failed = true;
    while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      std::fprintf(stderr, "gst-smooth package: error: %s\n", e ? e->message : "?");
      g_clear_error(&e);
      gst_message_unref(m);
    }
    std::fprintf(stderr, "gst-smooth package: the pipeline does not start\n");
  }
  bool tty = isatty(fileno(stderr)), manifests_posted = false, done = o.failed;
  int last_step = -1;
  uint64_t last_sum = 0;
  GstClockTime idle = 0;
  while (!done) {
    GstMessage* m = gst_bus_timed_pop(bus, 250 * GST_MSECOND);
    uint64_t pos = UINT64_MAX, sum = 0;
    for (auto& r : run.routes)
      if (r->mux_pad) {
        pos = std::min<uint64_t>(pos, r->position);
        sum += r->position;
      }
    idle = m || sum != last_sum ? 0 : idle + 250 * GST_MSECOND;
    last_sum = sum;
    if (idle >= kStallTimeout) {
      std::fprintf(stderr, "%sgst-smooth package: the pipeline stalled (no sample for %" PRIu64 " s)\n",
                   tty && !quiet ? "\n" : "", kStallTimeout / GST_SECOND);
      o.failed = true;
      break;
    }
    if (!quiet && total > 0) {
      int pct = pos == UINT64_MAX ? 0 : static_cast<int>(std::min<uint64_t>(100, pos * 100 / total));
      if (tty)
        std::fprintf(stderr, "\rpackaging: %5.1f of %.1f s (%d%%)", pos == UINT64_MAX ? 0.0 : pos / 1e9, total / 1e9, pct);
      else if (pct / 25 > last_step)
        std::fprintf(stderr, "packaging: %d%%\n", pct / 25 * 25);
      last_step = std::max(last_step, pct / 25);
    }
    if (!m) continue;
    switch (GST_MESSAGE_TYPE(m)) {
      case GST_MESSAGE_EOS:
        done = true;
        break;
      case GST_MESSAGE_WARNING:
      case GST_MESSAGE_ERROR: {
        GError* e = nullptr;
        gchar* dbg = nullptr;
        bool error = GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR;
        if (error) gst_message_parse_error(m, &e, &dbg);
        else gst_message_parse_warning(m, &e, &dbg);
        std::string text = std::string(e ? e->message : "") + (dbg ? std::string(": ") + dbg : "");
        if (tty && !quiet) std::fprintf(stderr, "\n");
        // The left-out error comes after ismvmux's message, files written.
        bool left_out_error = error && manifests_posted && o.left_out > 0;
        std::fprintf(stderr, "gst-smooth package: %s: %s\n", error ? "error" : "warning", text.c_str());
        if (error) {
          o.failed = !left_out_error;
          done = true;
        } else {
          o.warnings.push_back(text);
        }
        g_clear_error(&e);
        g_free(dbg);
        break;
      }
      case GST_MESSAGE_ELEMENT:
        if (gst_message_has_name(m, "ismvmux-manifests")) {
          const GstStructure* s = gst_message_get_structure(m);
          gst_structure_get_uint(s, "left-out", &o.left_out);
          gst_structure_get_uint(s, "quality-levels", &o.levels);
          manifests_posted = true;
        }
        break;
      default:
        break;
    }
    gst_message_unref(m);
  }
  if (tty && !quiet) std::fprintf(stderr, "\n");
  if (!quiet && !tty && !o.failed && last_step < 4) std::fprintf(stderr, "packaging: 100%%\n");
  if (!o.failed && !manifests_posted) {
    std::fprintf(stderr, "gst-smooth package: the muxer ended without writing the manifests\n");
    o.failed = true;
  }
  gst_object_unref(bus);
  gst_element_set_state(run.pipeline, GST_STATE_NULL);
  return o;
}

// The ismv plugin: from the registry, else from where it is installed.
bool FindMuxer() {
  if (GstElementFactory* f = gst_element_factory_find("ismvmux")) {
    gst_object_unref(f);
    return true;
  }
#ifdef GST_SMOOTH_PLUGIN_DIR
  gst_registry_scan_path(gst_registry_get(), GST_SMOOTH_PLUGIN_DIR);
  if (GstElementFactory* f = gst_element_factory_find("ismvmux")) {
    gst_object_unref(f);
    return true;
  }
#endif
  return false;
}

void PrintSummary(const std::string& ism, const std::string& ismc, const std::string& ismv,
                  const std::vector<std::string>& dropped) {
  std::unique_ptr<Asset> asset;
  Status s = Asset::Load(ism, &asset);
  if (!s) return;
  const ClientManifest& cm = asset->client_manifest();
  uint64_t size = 0;
  if (GStatBuf st; g_stat(ismv.c_str(), &st) == 0) size = static_cast<uint64_t>(st.st_size);
  std::printf("wrote %s (%.1f MB, %s s), %s and %s:\n", ismv.c_str(), size / 1e6,
              FormatSeconds(cm.duration, cm.timescale).c_str(), ism.c_str(), ismc.c_str());
  for (const StreamIndex& si : cm.streams) {
    std::printf("  StreamIndex \"%s\" (%s): %zu QualityLevel(s), %" PRIu64 " fragments; bitrates",
                si.EffectiveName().c_str(), si.type.c_str(), si.quality_levels.size(), si.FragmentCount());
    for (const QualityLevel& q : si.quality_levels) std::printf(" %u", q.bitrate);
    std::printf("\n");
  }
  for (const std::string& d : dropped) std::printf("  %s\n", d.c_str());
}

}  // namespace

int CmdPackage(int argc, char** argv) {
  Options o;
  int rc;
  if (!ParseArgs(argc, argv, &o, &rc)) return rc;
  const std::string base = StripMediaExtension(o.ismv);
  const std::string ism = base + ".ism", ismc = base + ".ismc", part = o.ismv + ".part";
  for (const std::string& in : o.inputs) {
    if (in == o.ismv || in == ism || in == ismc) {
      std::fprintf(stderr, "gst-smooth package: output %s is also an input\n", in.c_str());
      return 2;
    }
    if (!IsRegularFile(in)) {
      std::fprintf(stderr, "gst-smooth package: %s: no such file\n", in.c_str());
      return 1;
    }
  }
  if (Status s = MakeDirectories(DirectoryOf(o.ismv)); !s) {
    std::fprintf(stderr, "gst-smooth package: %s\n", s.message().c_str());
    return 1;
  }
  gst_init(nullptr, nullptr);
  if (!FindMuxer()) {
    // Run from a build tree (BUILD/tools/gst-smooth): the plugin beside it.
    gchar* exe = g_file_read_link("/proc/self/exe", nullptr);
    if (exe) {
      gchar* dir = g_path_get_dirname(exe);
      gchar* plugin = g_build_filename(dir, "..", "gst", "ismv", "libgstismv.so", nullptr);
      if (g_file_test(plugin, G_FILE_TEST_IS_REGULAR)) {
        // Loading registers it with the default registry.
        if (GstPlugin* p = gst_plugin_load_file(plugin, nullptr)) gst_object_unref(p);
      }
      g_free(plugin);
      g_free(dir);
      g_free(exe);
    }
  }
  if (!FindMuxer()) {
    std::fprintf(stderr, "gst-smooth package: the ismvmux element is not installed (build gst-smooth's ismv plugin; "
                         "for a build tree set GST_PLUGIN_PATH_1_0=BUILD/gst/ismv)\n");
    return 1;
  }

  // Pass 1: what every input holds; identical audio is kept once.
  std::vector<ProbedInput> probed(o.inputs.size());
  GstClockTime total = 0;
  std::vector<std::pair<size_t, size_t>> audio;  // (input, stream)
  std::vector<StreamFingerprint> prints;
  std::vector<std::string> dropped;
  for (size_t i = 0; i < o.inputs.size(); i++) {
    Status s = ProbeInput(o.inputs[i], kStallTimeout, &probed[i]);
    if (!s) {
      std::fprintf(stderr, "gst-smooth package: %s\n", s.message().c_str());
      return 1;
    }
    for (size_t k = 0; k < probed[i].streams.size(); k++) {
      const ProbedStream& ps = probed[i].streams[k];
      if (!ps.usable) {
        dropped.push_back(o.inputs[i] + " " + ps.pad + " skipped: not H.264 or AAC (" + ps.caps.substr(0, 60) + ")");
        continue;
      }
      total = std::max(total, ps.end);
      if (ps.kind == ProbedStream::Kind::kAudio) {
        audio.emplace_back(i, k);
        prints.push_back(ps.fingerprint);
      }
    }
  }
  std::vector<size_t> first = FirstIdenticalStreams(prints);

  // Pass 2: one pipeline; mux pads requested up front (video first, in
  // input order, then the distinct audio tracks).
  MuxRun run;
  run.pipeline = gst_pipeline_new("package");
  GstElement* mux = AddElement(run.pipeline, "ismvmux");
  GstElement* sink = AddElement(run.pipeline, "filesink");
  g_object_set(mux, "server-manifest", ism.c_str(), "client-manifest", ismc.c_str(), "media-file-name",
               Basename(o.ismv).c_str(), "strict-alignment", o.strict, nullptr);
  for (auto& [k, v] : o.props) {
    GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(mux), k.c_str());
    GValue value = G_VALUE_INIT;
    if (spec) g_value_init(&value, spec->value_type);
    bool ok = spec && gst_value_deserialize(&value, v.c_str());
    if (ok) g_object_set_property(G_OBJECT(mux), k.c_str(), &value);
    if (spec) g_value_unset(&value);
    if (!ok) {
      std::fprintf(stderr, "gst-smooth package: ismvmux does not take %s=%s\n", k.c_str(),
                   k == "content-key" ? "(the key)" : v.c_str());
      gst_object_unref(run.pipeline);
      return 2;
    }
  }
  g_object_set(sink, "location", part.c_str(), nullptr);
  gst_element_link(mux, sink);
  std::vector<std::unique_ptr<DemuxContext>> contexts;
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < probed.size(); i++)
      for (const ProbedStream& ps : probed[i].streams) {
        bool video = ps.kind == ProbedStream::Kind::kVideo;
        if (video != (pass == 0)) continue;
        auto r = std::make_unique<Route>();
        r->input = i;
        r->demux_pad = ps.pad;
        const size_t k = static_cast<size_t>(&ps - probed[i].streams.data());
        const size_t a = std::find(audio.begin(), audio.end(), std::make_pair(i, k)) - audio.begin();
        bool keep = ps.usable && (video || first[a] == a);
        if (ps.usable && !video && !keep)
          dropped.push_back("audio of " + o.inputs[i] + " is identical to that of " + o.inputs[audio[first[a]].first] +
                            ": muxed once");
        if (keep) r->mux_pad = gst_element_request_pad_simple(mux, video ? "video_%u" : "audio_%u");
        run.routes.push_back(std::move(r));
      }
  for (size_t i = 0; i < o.inputs.size(); i++) {
    GstElement* src = AddElement(run.pipeline, "filesrc");
    GstElement* demux = AddElement(run.pipeline, "qtdemux");
    g_object_set(src, "location", o.inputs[i].c_str(), nullptr);
    gst_element_link(src, demux);
    contexts.push_back(std::make_unique<DemuxContext>());
    contexts.back()->run = &run;
    contexts.back()->input = i;
    g_signal_connect(demux, "pad-added", G_CALLBACK(OnDemuxPad), contexts.back().get());
  }
  size_t distinct_audio = 0;
  for (size_t a = 0; a < first.size(); a++) distinct_audio += first[a] == a;
  if (!o.quiet)
    std::fprintf(stderr, "gst-smooth package: %zu input(s), %zu distinct audio track(s), %.1f s\n", o.inputs.size(),
                 distinct_audio, total / 1e9);
  Outcome out = RunMux(run, total, o.quiet);
  for (auto& r : run.routes)
    if (r->mux_pad) gst_object_unref(r->mux_pad);
  gst_object_unref(run.pipeline);

  if (out.failed || g_rename(part.c_str(), o.ismv.c_str()) != 0) {
    if (!out.failed) std::fprintf(stderr, "gst-smooth package: cannot rename %s to %s\n", part.c_str(), o.ismv.c_str());
    for (const std::string& f : {part, ism, ismc}) g_unlink(f.c_str());
    std::fprintf(stderr, "gst-smooth package: failed; nothing written\n");
    return 1;
  }
  PrintSummary(ism, ismc, o.ismv, dropped);
  if (out.left_out)
    std::printf("%u QualityLevel(s) left out of the manifests: their keyframes do not line up (see the errors)\n",
                out.left_out);
  if (!out.warnings.empty()) std::printf("%zu warning(s) on stderr\n", out.warnings.size());
  if (!o.export_dir.empty()) {
    std::string cmd = "export", flag = "--out";
    char* args[] = {cmd.data(), flag.data(), o.export_dir.data(), const_cast<char*>(ism.c_str()), nullptr};
    if (CmdExport(4, args) != 0) return 1;
  }
  return out.left_out ? 3 : 0;
}
