// What the ismvmux element tests share (test_ismvmux.cc and
// test_ismvmux_encryption.cc): Rig, a pipeline of one appsrc per requested
// sink pad into ismvmux and a filesink (or appsink, or fakesink) writing into
// a temporary folder that is removed afterwards; the codec configuration both
// feed it; and the output parsed back with the core.
// Include it after the C++ and core headers: gst-check defines a `fail`
// macro that would clash with std::ios::fail().
#pragma once

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "file.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>

// Minimal but well-formed avcC (Baseline, 4-byte NAL lengths, one SPS, one
// PPS) and AAC-LC 48 kHz stereo.
inline constexpr guint8 kAvcC[] = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x08, 0x67, 0x42, 0xc0, 0x1e,
                                   0xd9, 0x00, 0xa0, 0x47, 0x01, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80};
inline constexpr guint8 kAsc[] = {0x11, 0x90};

inline GstCaps* AudioCaps() {
  GstBuffer* cd = gst_buffer_new_memdup(kAsc, sizeof(kAsc));
  GstCaps* caps = gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format", G_TYPE_STRING,
                                      "raw", "rate", G_TYPE_INT, 48000, "channels", G_TYPE_INT, 2, "codec_data",
                                      GST_TYPE_BUFFER, cd, nullptr);
  gst_buffer_unref(cd);
  return caps;
}

struct Rig {
  GstElement* pipeline = nullptr;
  GstElement* mux = nullptr;
  std::vector<GstElement*> srcs;
  GstElement* sink = nullptr;
  std::string dir;
  std::string out_path;

  enum class Sink { kFile, kApp, kFake };
  explicit Rig(const std::vector<std::string>& pads, bool use_appsink = false)
      : Rig(pads, use_appsink ? Sink::kApp : Sink::kFile) {}
  // `live`: the appsrcs are live sources.
  Rig(const std::vector<std::string>& pads, Sink kind, bool live = false) {
    gchar* d = g_dir_make_tmp("ismvmux-test-XXXXXX", nullptr);
    dir = d;
    g_free(d);
    out_path = dir + "/out.ismv";
    pipeline = gst_pipeline_new(nullptr);
    mux = gst_element_factory_make("ismvmux", nullptr);
    fail_unless(mux != nullptr, "ismvmux not found (GST_PLUGIN_PATH_1_0?)");
    if (kind == Sink::kApp) {
      sink = gst_element_factory_make("appsink", nullptr);
      g_object_set(sink, "sync", FALSE, nullptr);
    } else if (kind == Sink::kFake) {
      sink = gst_element_factory_make("fakesink", nullptr);
      g_object_set(sink, "sync", FALSE, nullptr);
    } else {
      sink = gst_element_factory_make("filesink", nullptr);
      g_object_set(sink, "location", out_path.c_str(), nullptr);
    }
    gst_bin_add_many(GST_BIN(pipeline), mux, sink, nullptr);
    fail_unless(gst_element_link(mux, sink));
    for (auto& p : pads) {
      GstElement* src = gst_element_factory_make("appsrc", nullptr);
      g_object_set(src, "format", GST_FORMAT_TIME, "max-bytes", static_cast<guint64>(0), "is-live", live, nullptr);
      gst_bin_add(GST_BIN(pipeline), src);
      GstPad* sinkpad = gst_element_request_pad_simple(mux, p.c_str());
      fail_unless(sinkpad != nullptr);
      GstPad* srcpad = gst_element_get_static_pad(src, "src");
      fail_unless_equals_int(gst_pad_link(srcpad, sinkpad), GST_PAD_LINK_OK);
      gst_object_unref(srcpad);
      gst_object_unref(sinkpad);
      srcs.push_back(src);
    }
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;
  ~Rig() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
    if (d) {
      while (const gchar* n = g_dir_read_name(d)) g_unlink((dir + "/" + n).c_str());
      g_dir_close(d);
    }
    g_rmdir(dir.c_str());
  }
  void Start() { fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE); }
  void SetCaps(size_t i, GstCaps* caps) {
    g_object_set(srcs[i], "caps", caps, nullptr);
    gst_caps_unref(caps);
  }
  void Push(size_t i, GstBuffer* b) {
    fail_unless_equals_int(gst_app_src_push_buffer(GST_APP_SRC(srcs[i]), b), GST_FLOW_OK);
  }
  void EndAll() {
    for (auto* s : srcs) gst_app_src_end_of_stream(GST_APP_SRC(s));
  }
  // Waits for EOS or ERROR; returns the message (caller unrefs). Collects
  // warnings on the way.
  GstMessage* Wait(std::vector<std::string>* warnings = nullptr) {
    GstBus* bus = gst_element_get_bus(pipeline);
    for (;;) {
      GstMessage* m = gst_bus_timed_pop_filtered(
          bus, 20 * GST_SECOND,
          static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING));
      fail_unless(m != nullptr, "timeout waiting for EOS/ERROR");
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING) {
        GError* e = nullptr;
        gchar* dbg = nullptr;
        gst_message_parse_warning(m, &e, &dbg);
        if (warnings) warnings->push_back(std::string(e->message) + " | " + (dbg ? dbg : ""));
        g_error_free(e);
        g_free(dbg);
        gst_message_unref(m);
        continue;
      }
      gst_object_unref(bus);
      return m;
    }
  }
  static std::string ErrorText(GstMessage* m) {
    fail_unless_equals_int(GST_MESSAGE_TYPE(m), GST_MESSAGE_ERROR);
    GError* e = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(m, &e, &dbg);
    std::string r = std::string(e->message) + " | " + (dbg ? dbg : "");
    g_error_free(e);
    g_free(dbg);
    return r;
  }
  void ExpectEos() {
    GstMessage* m = Wait();
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) fail("unexpected error: %s", ErrorText(m).c_str());
    gst_message_unref(m);
  }
  std::string ExpectError() {
    GstMessage* m = Wait();
    std::string e = ErrorText(m);
    gst_message_unref(m);
    return e;
  }
  std::vector<uint8_t> ReadOutput() {
    std::ifstream in(out_path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
};

inline piff::PiffFile ParseFile(const std::vector<uint8_t>& data) {
  piff::PiffFile f;
  piff::Status s = piff::PiffFile::Parse(data.data(), data.size(), &f);
  fail_unless(s.ok(), "parse failed: %s", s.message().c_str());
  return f;
}
