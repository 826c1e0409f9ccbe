// Test tool: runs a gst-launch style pipeline and prints, as JSON lines, what
// reaches every element named "sink*": caps, protection events (system id,
// origin, base64 data) and per buffer its PTS, size, MD5 of the bytes and the
// GstProtectionMeta fields (kid, iv, iv_size, subsample_count, subsamples).
// The interop tests compare this with what the file holds, so peers' output
// (mssdemux + qtdemux) is checked without Python GStreamer bindings.
//
// Usage: protection_probe 'PIPELINE'   (exit 0 on EOS, 1 on error/timeout)
#include <gst/gst.h>

#include <cstdio>
#include <string>

static std::string Hex(const guint8* d, gsize n) {
  static const char k[] = "0123456789abcdef";
  std::string s;
  for (gsize i = 0; i < n; i++) {
    s += k[d[i] >> 4];
    s += k[d[i] & 15];
  }
  return s;
}

static std::string BufferHex(const GValue* v) {
  if (!v || !GST_VALUE_HOLDS_BUFFER(v)) return "";
  GstBuffer* b = gst_value_get_buffer(v);
  GstMapInfo m;
  if (!gst_buffer_map(b, &m, GST_MAP_READ)) return "";
  std::string s = Hex(m.data, m.size);
  gst_buffer_unmap(b, &m);
  return s;
}

static std::string Escape(const std::string& in) {
  std::string o;
  for (char c : in) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}

static void PrintBuffer(const gchar* sink, GstBuffer* buf) {
  {
    GstMapInfo m;
    std::string md5;
    gsize size = gst_buffer_get_size(buf);
    if (gst_buffer_map(buf, &m, GST_MAP_READ)) {
      gchar* sum = g_compute_checksum_for_data(G_CHECKSUM_MD5, m.data, m.size);
      md5 = sum;
      g_free(sum);
      gst_buffer_unmap(buf, &m);
    }
    std::string meta = "null";
    GstProtectionMeta* pm = reinterpret_cast<GstProtectionMeta*>(gst_buffer_get_protection_meta(buf));
    if (pm && pm->info) {
      guint iv_size = 0, count = 0;
      gboolean encrypted = FALSE;
      gst_structure_get_uint(pm->info, "iv_size", &iv_size);
      gst_structure_get_uint(pm->info, "subsample_count", &count);
      gst_structure_get_boolean(pm->info, "encrypted", &encrypted);
      meta = "{\"name\":\"" + std::string(gst_structure_get_name(pm->info)) + "\",\"encrypted\":" +
             (encrypted ? "true" : "false") + ",\"kid\":\"" + BufferHex(gst_structure_get_value(pm->info, "kid")) +
             "\",\"iv\":\"" + BufferHex(gst_structure_get_value(pm->info, "iv")) + "\",\"iv_size\":" +
             std::to_string(iv_size) + ",\"subsample_count\":" + std::to_string(count) + ",\"subsamples\":\"" +
             BufferHex(gst_structure_get_value(pm->info, "subsamples")) + "\"}";
    }
    printf("{\"sink\":\"%s\",\"type\":\"buffer\",\"pts\":%" G_GINT64_FORMAT ",\"size\":%" G_GSIZE_FORMAT
           ",\"md5\":\"%s\",\"meta\":%s}\n",
           sink, GST_BUFFER_PTS_IS_VALID(buf) ? static_cast<gint64>(GST_BUFFER_PTS(buf)) : -1, size, md5.c_str(),
           meta.c_str());
  }
}

static gboolean PrintListItem(GstBuffer** buf, guint, gpointer sink) {
  PrintBuffer(static_cast<const gchar*>(sink), *buf);
  return TRUE;
}

static GstPadProbeReturn OnData(GstPad* pad, GstPadProbeInfo* info, gpointer) {
  gchar* sink = gst_object_get_name(GST_OBJECT_PARENT(pad));
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    PrintBuffer(sink, GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    gst_buffer_list_foreach(GST_PAD_PROBE_INFO_BUFFER_LIST(info), PrintListItem, sink);
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
      GstCaps* caps;
      gst_event_parse_caps(ev, &caps);
      gchar* s = gst_caps_to_string(caps);
      printf("{\"sink\":\"%s\",\"type\":\"caps\",\"caps\":\"%s\"}\n", sink, Escape(s).c_str());
      g_free(s);
    } else if (GST_EVENT_TYPE(ev) == GST_EVENT_PROTECTION) {
      const gchar *system_id = nullptr, *origin = nullptr;
      GstBuffer* data = nullptr;
      gst_event_parse_protection(ev, &system_id, &data, &origin);
      std::string b64;
      GstMapInfo m;
      if (data && gst_buffer_map(data, &m, GST_MAP_READ)) {
        gchar* e = g_base64_encode(m.data, m.size);
        b64 = e;
        g_free(e);
        gst_buffer_unmap(data, &m);
      }
      printf("{\"sink\":\"%s\",\"type\":\"protection\",\"system_id\":\"%s\",\"origin\":\"%s\",\"data\":\"%s\"}\n",
             sink, system_id ? system_id : "", origin ? origin : "", b64.c_str());
    }
  }
  fflush(stdout);
  g_free(sink);
  return GST_PAD_PROBE_OK;
}

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc != 2) {
    fprintf(stderr, "usage: %s 'PIPELINE'\n", argv[0]);
    return 2;
  }
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(argv[1], &err);
  if (!pipeline) {
    fprintf(stderr, "parse error: %s\n", err ? err->message : "?");
    return 2;
  }
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(pipeline));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    GstElement* e = GST_ELEMENT(g_value_get_object(&item));
    gchar* name = gst_element_get_name(e);
    if (g_str_has_prefix(name, "sink")) {
      GstPad* pad = gst_element_get_static_pad(e, "sink");
      if (pad) {
        gst_pad_add_probe(pad,
                          static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                                       GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                          OnData, nullptr, nullptr);
        gst_object_unref(pad);
      }
    }
    g_free(name);
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);

  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  int rc = 1;
  // PROBE_RUN_SECONDS: a live stream that may never end is stopped after that
  // long (exit 3) instead of timing out.
  const char* run = g_getenv("PROBE_RUN_SECONDS");
  const guint64 run_seconds = run ? g_ascii_strtoull(run, nullptr, 10) : 0;
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, (run_seconds ? run_seconds : 120) * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (!msg && run_seconds) {
    fprintf(stderr, "stopped after %" G_GUINT64_FORMAT " s\n", run_seconds);
    rc = 3;
  } else if (!msg) {
    fprintf(stderr, "timeout\n");
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
    rc = 0;
  } else {
    GError* e = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(msg, &e, &dbg);
    fprintf(stderr, "ERROR from %s: %s\n%s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), e->message, dbg ? dbg : "");
    printf("{\"type\":\"error\",\"source\":\"%s\",\"message\":\"%s\"}\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
           Escape(e->message).c_str());
    g_error_free(e);
    g_free(dbg);
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return rc;
}
