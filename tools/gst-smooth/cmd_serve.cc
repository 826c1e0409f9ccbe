// gst-smooth serve: runs the development origin (origin.h) on a folder of
// packaged assets until SIGINT/SIGTERM, then prints its counters and exits 0.
#include <glib-unix.h>
#include <glib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#include "cross_origin.h"
#include "origin.h"

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: gst-smooth serve --root DIR [--port N] [--bind ADDR] [options]\n"
               "Serves every NAME.ism under DIR as a Smooth Streaming presentation:\n"
               "  http://ADDR:PORT/<path under DIR>/NAME.ism/Manifest\n"
               "  .../NAME.ism/QualityLevels(BITRATE)/Fragments(NAME=TIME)   (also FragmentInfo, KeyFrames,\n"
               "                                                               RawFragments)\n"
               "options:\n"
               "  --root DIR               folder with the .ism/.ismc/.ismv files (required)\n"
               "  --port N                 TCP port, 0 = any free port (default 0; the URL is printed)\n"
               "  --bind ADDR              IPv4/IPv6 address to listen on (default 127.0.0.1)\n"
               "  --threads N              event loops accepting on the port (default 1)\n"
               "  --max-age S              Cache-Control max-age of fragments, seconds (default 86400)\n"
               "  --manifest-max-age S     Cache-Control max-age of manifests, seconds (default 10)\n"
               "  --cache-mb N             MiB for recently served fragments (default 64, 0 = none)\n"
               "  --idle-timeout S         close a connection that waits S seconds for a request\n"
               "                           (default 60, 0 = never; it never cuts a response)\n"
               "  --send-timeout S         close a connection whose client takes no byte of a response\n"
               "                           for S seconds (default 60, 0 = never; slow readers are not cut)\n"
               "  --cors-origin SPEC       who may read responses from other origins (CORS): '*' (default),\n"
               "                           'none', or a comma-separated list of http[s]://HOST[:PORT]\n"
               "  --no-policy-files        no generated /clientaccesspolicy.xml and /crossdomain.xml (default:\n"
               "                           served, granting what --cors-origin grants; none with 'none')\n"
               "  --client-access-policy FILE  serve FILE as /clientaccesspolicy.xml (Silverlight)\n"
               "  --cross-domain-policy FILE   serve FILE as /crossdomain.xml (Flash)\n"
               "live publishing points (docs/live-serving.md):\n"
               "  --ingest                 accept encoders' POSTs to <path>/NAME.isml/Streams(ID); a POST creates\n"
               "                           or resumes the point NAME (archive in <path>/NAME/) (default: off)\n"
               "  --ingest-declared-only   --ingest, but only for points defined by a file <path>/NAME.isml\n"
               "                           (lines 'lookahead N', 'dvr-window S', 'idle-stop S' override the flags)\n"
               "  --lookahead N            LookAheadFragmentCount of new points, fragments (default 2)\n"
               "  --dvr-window S           DVRWindowLength of new points, seconds (default 0 = unbounded)\n"
               "  --live-manifest-max-age S  Cache-Control max-age of a running point's manifest, seconds\n"
               "                           (default 1; 0 = no-cache)\n"
               "  --ingest-timeout S       answer 408 and close a POST that completes no fragment for S seconds\n"
               "                           (default 30, 0 = never)\n"
               "  --ingest-idle-stop S     stop a point (and close its archive) S seconds after its last stream\n"
               "                           ended (default 30, 0 = never)\n"
               "  --ingest-token T         POSTs need 'Authorization: Bearer T' (default: no credentials)\n"
               "  --ingest-user U:P        POSTs need HTTP Basic user U, password P (default: none); with both,\n"
               "                           either is accepted. Never logged; visible to local users in ps:\n"
               "                           GST_SMOOTH_INGEST_TOKEN / GST_SMOOTH_INGEST_USER are read too\n"
               "  --quiet                  no per-request log lines\n"
               "Stops on SIGINT/SIGTERM (exit 0).\n");
}

bool ParseUnsigned(const char* opt, const char* value, unsigned max, unsigned* out) {
  uint32_t v = 0;
  if (!value || !gst_smooth::ParseDecimalU32(value, &v) || v > max) {
    std::fprintf(stderr, "gst-smooth serve: %s needs a number 0..%u, got \"%s\"\n", opt, max, value ? value : "");
    return false;
  }
  *out = v;
  return true;
}

struct StopRequest {
  GMainLoop* loop = nullptr;
  const char* signal = nullptr;
};

gboolean OnSigint(gpointer data) {
  auto* s = static_cast<StopRequest*>(data);
  s->signal = "SIGINT";
  g_main_loop_quit(s->loop);
  return G_SOURCE_CONTINUE;
}

gboolean OnSigterm(gpointer data) {
  auto* s = static_cast<StopRequest*>(data);
  s->signal = "SIGTERM";
  g_main_loop_quit(s->loop);
  return G_SOURCE_CONTINUE;
}

gboolean FlushStdout(gpointer) {
  std::fflush(stdout);
  return G_SOURCE_CONTINUE;
}

}  // namespace

int CmdServe(int argc, char** argv) {
  gst_smooth::OriginOptions opt;
  bool have_root = false;
  // Options that take a number: name, largest value, where it goes.
  const struct {
    const char* name;
    unsigned max;
    unsigned* out;
  } numbers[] = {
      {"--port", 65535, &opt.port},
      {"--max-age", 31536000, &opt.fragment_max_age},
      {"--manifest-max-age", 31536000, &opt.manifest_max_age},
      {"--idle-timeout", 86400, &opt.idle_timeout},
      {"--send-timeout", 86400, &opt.send_timeout},
      {"--lookahead", 255, &opt.lookahead},
      {"--dvr-window", 31536000, &opt.dvr_window},
      {"--live-manifest-max-age", 3600, &opt.live_manifest_max_age},
      {"--ingest-timeout", 86400, &opt.ingest_timeout},
      {"--ingest-idle-stop", 86400, &opt.ingest_idle_stop},
  };
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    bool numeric = false;
    for (const auto& n : numbers)
      if (!std::strcmp(a, n.name)) {
        if (!ParseUnsigned(a, v, n.max, n.out)) return 2;
        numeric = true;
      }
    if (numeric) {
      i++;
      continue;
    }
    if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
      Usage(stdout);
      return 0;
    } else if (!std::strcmp(a, "--root") && v) {
      opt.root = v;
      have_root = true;
      i++;
    } else if (!std::strcmp(a, "--bind") && v) {
      opt.bind = v;
      i++;
    } else if (!std::strcmp(a, "--threads")) {
      if (!ParseUnsigned(a, v, 64, &opt.threads) || opt.threads == 0) return 2;
      i++;
    } else if (!std::strcmp(a, "--cache-mb")) {
      unsigned mb = 0;
      if (!ParseUnsigned(a, v, 65536, &mb)) return 2;
      opt.cache_bytes = static_cast<size_t>(mb) << 20;
      i++;
    } else if (!std::strcmp(a, "--cors-origin") && v) {
      std::string why;
      if (!piff::CrossOrigin().Parse(v, &why)) {
        std::fprintf(stderr, "gst-smooth serve: --cors-origin: %s\n", why.c_str());
        return 2;
      }
      opt.cors_origin = v;
      i++;
    } else if (!std::strcmp(a, "--no-policy-files")) {
      opt.policy_files = false;
    } else if (!std::strcmp(a, "--client-access-policy") && v) {
      opt.client_access_policy_file = v;
      i++;
    } else if (!std::strcmp(a, "--cross-domain-policy") && v) {
      opt.cross_domain_file = v;
      i++;
    } else if (!std::strcmp(a, "--ingest")) {
      opt.ingest = true;
    } else if (!std::strcmp(a, "--ingest-declared-only")) {
      opt.ingest = opt.ingest_declared_only = true;
    } else if (!std::strcmp(a, "--ingest-token") && v) {
      opt.ingest_token = v;
      i++;
    } else if (!std::strcmp(a, "--ingest-user") && v) {
      if (!std::strchr(v, ':')) {
        std::fprintf(stderr, "gst-smooth serve: --ingest-user needs USER:PASSWORD\n");
        return 2;
      }
      opt.ingest_user = v;
      i++;
    } else if (!std::strcmp(a, "--quiet")) {
      opt.log_requests = false;
    } else {
      std::fprintf(stderr, "gst-smooth serve: unknown or incomplete option '%s'\n", a);
      Usage(stderr);
      return 2;
    }
  }
  // Secrets on the command line are visible to local users (ps); the
  // environment is not.
  if (const char* t = g_getenv("GST_SMOOTH_INGEST_TOKEN"); t && *t && opt.ingest_token.empty()) opt.ingest_token = t;
  if (const char* u = g_getenv("GST_SMOOTH_INGEST_USER"); u && std::strchr(u, ':') && opt.ingest_user.empty())
    opt.ingest_user = u;
  if (!have_root) {
    std::fprintf(stderr, "gst-smooth serve: --root DIR is required\n");
    Usage(stderr);
    return 2;
  }

  // One line at a time on a terminal. Into a pipe or a file (tests, demos,
  // benchmarks), a write per request costs more than the rest of a cached
  // fragment's handling in user space, so lines are buffered and flushed
  // every 100 ms (and at exit).
  bool tty = isatty(fileno(stdout));
  std::setvbuf(stdout, nullptr, tty ? _IOLBF : _IOFBF, tty ? 0 : 1 << 16);
  // A reader of our stdout may go away; sockets use MSG_NOSIGNAL already.
  std::signal(SIGPIPE, SIG_IGN);
  // One descriptor per connection: take what the hard limit allows (the
  // origin survives running out, but later).
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  std::string error;
  std::unique_ptr<gst_smooth::Origin> origin = gst_smooth::Origin::Start(opt, &error);
  if (!origin) {
    std::fprintf(stderr, "gst-smooth serve: %s\n", error.c_str());
    return 1;
  }
  std::printf("gst-smooth serve: listening on %s\n", origin->url().c_str());
  std::vector<std::string> assets = origin->ListAssets();
  std::printf("gst-smooth serve: root %s, %zu asset(s)%s\n", opt.root.c_str(), assets.size(),
              assets.empty() ? "" : ":");
  for (const std::string& a : assets) std::printf("  %s%s/Manifest\n", origin->url().c_str(), a.c_str());
  if (opt.ingest)
    std::printf("gst-smooth serve: ingest on: POST %s<path>/NAME.isml/Streams(ID)%s\n", origin->url().c_str(),
                opt.ingest_token.empty() && opt.ingest_user.empty() ? " (no credentials asked)" : " (credentials asked)");
  std::fflush(stdout);  // whoever started us waits for the URL

  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  StopRequest stop;
  stop.loop = loop;
  guint flush = tty ? 0 : g_timeout_add(100, FlushStdout, nullptr);
  guint sigint = g_unix_signal_add(SIGINT, OnSigint, &stop);
  guint sigterm = g_unix_signal_add(SIGTERM, OnSigterm, &stop);
  g_main_loop_run(loop);
  std::printf("gst-smooth serve: %s, stopping\n", stop.signal ? stop.signal : "stopped");
  bool drained = origin->Stop();
  std::printf("gst-smooth serve: %s\n", origin->CountersLine().c_str());
  if (!drained) std::printf("gst-smooth serve: disk reads still running at exit, not waiting for them\n");
  std::fflush(stdout);
  if (flush) g_source_remove(flush);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  // Pool threads still inside the origin must not find it freed; the
  // process is about to end anyway.
  if (!drained) (void)origin.release();
  origin.reset();
  g_main_loop_unref(loop);
  return 0;
}
