// gst-check tests of smoothsink (test_smoothsink_element) against a tiny HTTP/1.1 server in the test
// (a GSocketListener thread that records each request and answers 200):
// property defaults and flags, the probe then one chunked POST whose
// decoded body is the input's bytes, the stats structure, and EOS that
// completes (posted once the final answer came). Input: FFmpeg's live push
// body in tests/unit/data, fed in small buffers through a GstHarness.
#include <gio/gio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct Request {
  std::string method, path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool chunked = false;
};

// Accepts connections until cancelled; one request per connection.
struct Recorder {
  GSocketListener* listener = nullptr;
  GCancellable* cancel = nullptr;
  GThread* thread = nullptr;
  guint16 port = 0;
  std::mutex mu;
  std::vector<Request> requests;

  static std::string Line(GDataInputStream* in) {
    gsize n = 0;
    gchar* l = g_data_input_stream_read_line(in, &n, nullptr, nullptr);
    std::string s = l ? l : "";
    g_free(l);
    if (!s.empty() && s.back() == '\r') s.pop_back();
    return s;
  }

  static void ReadExact(GDataInputStream* in, gsize n, std::string* out) {
    std::string buf(n, '\0');
    gsize got = 0;
    g_input_stream_read_all(G_INPUT_STREAM(in), &buf[0], n, &got, nullptr, nullptr);
    out->append(buf, 0, got);
  }

  void Serve(GSocketConnection* c) {
    GDataInputStream* in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(c)));
    Request r;
    std::string first = Line(in);
    r.method = first.substr(0, first.find(' '));
    r.path = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
    for (std::string l = Line(in); !l.empty(); l = Line(in)) {
      std::string name = l.substr(0, l.find(':'));
      for (char& ch : name) ch = static_cast<char>(g_ascii_tolower(ch));
      std::string value = l.substr(l.find(':') + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    if (r.headers["transfer-encoding"] == "chunked") {
      r.chunked = true;
      for (int i = 0; i < 100000; i++) {  // bounded
        gsize size = g_ascii_strtoull(Line(in).c_str(), nullptr, 16);
        if (size == 0) {
          Line(in);
          break;
        }
        ReadExact(in, size, &r.body);
        Line(in);
      }
    } else {
      ReadExact(in, g_ascii_strtoull(r.headers["content-length"].c_str(), nullptr, 10), &r.body);
    }
    const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(c)), answer, sizeof(answer) - 1, nullptr,
                              nullptr, nullptr);
    g_io_stream_close(G_IO_STREAM(c), nullptr, nullptr);
    g_object_unref(in);
    std::lock_guard<std::mutex> lock(mu);
    requests.push_back(r);
  }

  static gpointer Loop(gpointer data) {
    auto* self = static_cast<Recorder*>(data);
    while (GSocketConnection* c = g_socket_listener_accept(self->listener, nullptr, self->cancel, nullptr)) {
      self->Serve(c);
      g_object_unref(c);
    }
    return nullptr;
  }

  void Start() {
    listener = g_socket_listener_new();
    GInetAddress* lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress* any = g_inet_socket_address_new(lo, 0);
    GSocketAddress* bound = nullptr;
    fail_unless(g_socket_listener_add_address(listener, any, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr,
                                              &bound, nullptr));
    port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(lo);
    cancel = g_cancellable_new();
    thread = g_thread_new("recorder", Loop, this);
  }

  void Stop() {
    g_cancellable_cancel(cancel);
    g_thread_join(thread);
    g_object_unref(cancel);
    g_object_unref(listener);
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port) + "/live/pub.isml/Streams(s1)"; }
};

std::string InputBytes() {
  gchar* path = g_build_filename(g_getenv("GST_SMOOTH_SOURCE_DIR"), "tests", "unit", "data", "ffmpeg_live_push.ismv",
                                 nullptr);
  gchar* data = nullptr;
  gsize size = 0;
  fail_unless(g_file_get_contents(path, &data, &size, nullptr), "cannot read %s", path);
  std::string s(data, size);
  g_free(data);
  g_free(path);
  return s;
}

}  // namespace

GST_START_TEST(test_defaults) {
  GstElement* e = gst_element_factory_make("smoothsink", nullptr);
  fail_unless(e != nullptr);
  gboolean probe = FALSE, tls_verify = FALSE, add_mfra = TRUE;
  guint connect_timeout = 0, send_timeout = 1, retry_delay = 0, retry_delay_max = 0, backlog_time = 0, eos_timeout = 0;
  gint max_retries = 0, idle_timeout = 0;
  guint64 backlog_bytes = 0;
  gchar* location = nullptr;
  g_object_get(e, "probe", &probe, "tls-verify", &tls_verify, "add-mfra", &add_mfra, "connect-timeout",
               &connect_timeout, "send-timeout", &send_timeout, "retry-delay", &retry_delay, "retry-delay-max",
               &retry_delay_max, "backlog-time", &backlog_time, "eos-timeout", &eos_timeout, "max-retries",
               &max_retries, "idle-timeout", &idle_timeout, "backlog-bytes", &backlog_bytes, "location", &location,
               nullptr);
  fail_unless(probe && tls_verify && !add_mfra);
  fail_unless_equals_int(connect_timeout, 10000);
  fail_unless_equals_int(send_timeout, 0);
  fail_unless_equals_int(retry_delay, 500);
  fail_unless_equals_int(retry_delay_max, 8000);
  fail_unless_equals_int(backlog_time, 60000);
  fail_unless_equals_int(eos_timeout, 30000);
  fail_unless_equals_int(max_retries, -1);
  fail_unless_equals_int(idle_timeout, -1);
  fail_unless_equals_uint64(backlog_bytes, 64ull << 20);
  fail_unless(location == nullptr);
  // Secrets are write-only; stats read-only.
  GObjectClass* k = G_OBJECT_GET_CLASS(e);
  for (const char* secret : {"user-pw", "extra-headers"}) {
    GParamSpec* p = g_object_class_find_property(k, secret);
    fail_unless(p && (p->flags & G_PARAM_WRITABLE) && !(p->flags & G_PARAM_READABLE), "%s", secret);
  }
  GParamSpec* stats = g_object_class_find_property(k, "stats");
  fail_unless(stats && !(stats->flags & G_PARAM_WRITABLE));
  guint n = 0;
  GParamSpec** all = g_object_class_list_properties(k, &n);
  for (guint i = 0; i < n; i++)
    fail_unless(g_param_spec_get_blurb(all[i]) && *g_param_spec_get_blurb(all[i]), "%s has no blurb", all[i]->name);
  g_free(all);
  gst_object_unref(e);
}
GST_END_TEST;

GST_START_TEST(test_probe_chunked_post_stats_eos) {
  Recorder rec;
  rec.Start();
  std::string input = InputBytes();
  // Configured before the harness starts it (no location: start fails).
  GstElement* sink = gst_element_factory_make("smoothsink", nullptr);
  g_object_set(sink, "location", rec.Url().c_str(), "eos-timeout", 5000, nullptr);
  GstHarness* h = gst_harness_new_with_element(sink, "sink", nullptr);
  gst_object_unref(sink);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, "video/quicktime, variant=(string)iso-fragmented");
  gint64 t0 = g_get_monotonic_time();
  for (size_t off = 0; off < input.size(); off += 1000) {
    size_t n = MIN(1000, input.size() - off);
    fail_unless_equals_int(gst_harness_push(h, gst_buffer_new_memdup(input.data() + off, n)), GST_FLOW_OK);
  }
  // The EOS event returns once the final answer came (bounded by eos-timeout).
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  GstMessage* eos = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_EOS);
  fail_unless(eos != nullptr, "no EOS message");
  gst_message_unref(eos);
  fail_unless(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
  GstMessage* err = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(err == nullptr, "an ERROR was posted");

  {
    std::lock_guard<std::mutex> lock(rec.mu);
    fail_unless_equals_int(rec.requests.size(), 2);
    const Request& probe = rec.requests[0];
    fail_unless_equals_string(probe.method.c_str(), "POST");
    fail_unless_equals_string(probe.path.c_str(), "/live/pub.isml/Streams(s1)");
    fail_unless_equals_string(probe.headers.at("content-length").c_str(), "0");
    fail_unless(probe.body.empty());
    const Request& post = rec.requests[1];
    fail_unless(post.chunked && post.headers.count("content-length") == 0);
    fail_unless_equals_int(post.body.size(), input.size());
    fail_unless(post.body == input, "the chunked body differs from the input");
  }

  GstStructure* s = nullptr;
  g_object_get(h->element, "stats", &s, nullptr);
  fail_unless(s != nullptr);
  fail_unless(gst_structure_has_name(s, "smoothsink-stats"));
  fail_unless_equals_string(gst_structure_get_string(s, "state"), "done");
  const std::string url = rec.Url();  // (the macro keeps the pointer: no temporaries)
  fail_unless_equals_string(gst_structure_get_string(s, "url"), url.c_str());
  guint64 v = 0;
  fail_unless(gst_structure_get_uint64(s, "bytes-sent", &v));
  fail_unless_equals_uint64(v, input.size());
  guint64 frags_in = 0, frags_sent = 0;
  fail_unless(gst_structure_get_uint64(s, "fragments-in", &frags_in) && frags_in > 0);
  fail_unless(gst_structure_get_uint64(s, "fragments-sent", &frags_sent));
  fail_unless_equals_uint64(frags_sent, frags_in);
  for (const char* zero : {"fragments-resent", "fragments-dropped", "reconnects", "idle-ends", "backlog-fragments",
                           "backlog-bytes"}) {
    fail_unless(gst_structure_get_uint64(s, zero, &v), "%s missing", zero);
    fail_unless_equals_uint64(v, 0);
  }
  gint64 rtt = -2;
  fail_unless(gst_structure_get_int64(s, "last-fragment-rtt-ms", &rtt) && rtt >= -1);
  fail_unless(gst_structure_get_string(s, "last-error") != nullptr);
  gst_structure_free(s);

  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
  rec.Stop();
}
GST_END_TEST;

static Suite* smoothsink_suite(void) {
  Suite* s = suite_create("smoothsink");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 30);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_probe_chunked_post_stats_eos);
  return s;
}

GST_CHECK_MAIN(smoothsink);
