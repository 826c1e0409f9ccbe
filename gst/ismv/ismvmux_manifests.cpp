// ismvmux's on-demand manifests: at EOS, the .ism (SMIL) and .ismc written
// from what was muxed (piff::BuildPresentation decides their content), and
// the "ismvmux-manifests" element message that reports the outcome.
#include "ismvmux_private.h"

#include <string>
#include <vector>

#include "asset.h"
#include "presentation.h"

#define GST_CAT_DEFAULT gst_ismv_mux_debug

static std::string PathFromUri(const gchar* uri) {
  gchar* path = g_filename_from_uri(uri, nullptr, nullptr);
  std::string r = path ? path : "";
  g_free(path);
  return r;
}

static std::string BaseName(const std::string& p) {
  gchar* c = g_path_get_basename(p.c_str());
  std::string r(c);
  g_free(c);
  return r;
}

static std::string AbsolutePath(const std::string& p) {
  gchar* c = g_canonicalize_filename(p.c_str(), nullptr);
  std::string r(c);
  g_free(c);
  return r;
}

static bool WriteFile(GstIsmvMux* self, const std::string& path, const std::string& text) {
  GError* err = nullptr;
  if (!g_file_set_contents(path.c_str(), text.data(), static_cast<gssize>(text.size()), &err)) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("Could not write manifest \"%s\"", path.c_str()),
                      ("%s", err ? err->message : "unknown error"));
    g_clear_error(&err);
    return false;
  }
  GST_INFO_OBJECT(self, "wrote %s (%zu bytes)", path.c_str(), text.size());
  return true;
}

// The outcome for applications: an element message "ismvmux-manifests"
// (always, once both manifests are written), and when QualityLevels were left
// out of them (misaligned ladder, see piff::AlignLadder) an error naming each
// one: the files are complete and every manifest URL resolves, but the
// presentation lacks renditions it was given.
static void PostManifestsOutcome(GstIsmvMux* self, const piff::Presentation& pres, const std::string& ism,
                                 const std::string& ismc) {
  IsmvMuxState* st = self->state;
  GValue pads = G_VALUE_INIT, reasons = G_VALUE_INIT;
  gst_value_array_init(&pads, pres.left_out.size());
  gst_value_array_init(&reasons, pres.left_out.size());
  std::string details;
  for (auto& l : pres.left_out) {
    std::string pad = st->tracks[l.track]->pad ? GST_PAD_NAME(st->tracks[l.track]->pad) : "";
    std::string msg = (pad.empty() ? "" : pad + ": ") + l.message;
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_STRING);
    g_value_set_string(&v, pad.c_str());
    gst_value_array_append_and_take_value(&pads, &v);
    g_value_init(&v, G_TYPE_STRING);
    g_value_set_string(&v, msg.c_str());
    gst_value_array_append_and_take_value(&reasons, &v);
    details += (details.empty() ? "" : "\n") + msg;
  }
  guint levels = 0;
  for (auto& si : pres.client.streams) levels += static_cast<guint>(si.quality_levels.size());
  GstStructure* s = gst_structure_new("ismvmux-manifests", "server-manifest", G_TYPE_STRING, ism.c_str(),
                                      "client-manifest", G_TYPE_STRING, ismc.c_str(), "quality-levels", G_TYPE_UINT,
                                      levels, "left-out", G_TYPE_UINT, static_cast<guint>(pres.left_out.size()),
                                      nullptr);
  gst_structure_take_value(s, "left-out-pads", &pads);
  gst_structure_take_value(s, "left-out-reasons", &reasons);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  if (!pres.left_out.empty())
    GST_ELEMENT_ERROR(self, STREAM, MUX,
                      ("%zu QualityLevel(s) left out of the manifests: the bitrate ladder is not aligned",
                       pres.left_out.size()),
                      ("%s", details.c_str()));
}

bool WriteManifests(GstIsmvMux* self) {
  IsmvMuxState* st = self->state;
  GST_OBJECT_LOCK(self);
  std::string ism = st->server_manifest, ismc = st->client_manifest, media = st->media_file_name;
  GST_OBJECT_UNLOCK(self);
  if (ism.empty() && ismc.empty()) return true;

  // The media file name for the .ism comes from the property, else from
  // downstream (filesink answers the URI query), relative to the .ism.
  std::string media_path;
  if (media.empty()) {
    GstQuery* q = gst_query_new_uri();
    if (gst_pad_peer_query(GST_AGGREGATOR_SRC_PAD(self), q)) {
      gchar* uri = nullptr;
      gst_query_parse_uri(q, &uri);
      if (uri) media_path = PathFromUri(uri);
      g_free(uri);
    }
    gst_query_unref(q);
  }
  std::string src = media;
  std::string ism_dir = ism.empty() ? "" : AbsolutePath(ism).substr(0, AbsolutePath(ism).rfind('/'));
  if (src.empty() && !media_path.empty())
    src = ism.empty() ? BaseName(media_path) : piff::RelativePath(AbsolutePath(media_path), ism_dir);
  if (src.empty() && !ism.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Cannot name the media file in the server manifest"),
                      ("downstream did not answer the URI query; set the media-file-name property"));
    return false;
  }

  std::vector<piff::TrackSummary> summaries;
  for (auto& t : st->tracks) {
    piff::TrackSummary s;
    s.config = t->config;
    s.fourcc = t->fourcc;
    s.src = src;
    s.payload_bytes = t->payload_bytes;
    for (auto& f : t->fragments) s.fragments.push_back({f.time, f.duration});
    summaries.push_back(std::move(s));
  }
  std::string ismc_rel;
  if (!ismc.empty()) ismc_rel = ism.empty() ? "" : piff::RelativePath(AbsolutePath(ismc), ism_dir);
  piff::Presentation pres;
  piff::Status status = piff::BuildPresentation(summaries, st->timescale, ismc_rel, &pres);
  if (!status) {
    GST_ELEMENT_ERROR(self, STREAM, MUX, ("Could not build the manifests"), ("%s", status.message().c_str()));
    return false;
  }
  pres.client.protection = st->protection.manifest_headers();
  for (auto& w : pres.warnings) GST_ELEMENT_WARNING(self, STREAM, MUX, ("Manifest warning"), ("%s", w.c_str()));
  for (size_t i = 0; i < st->tracks.size(); i++)
    GST_INFO_OBJECT(self, "%s: name %s, bitrate %u bit/s%s", TrackLabel(*st->tracks[i]).c_str(), pres.names[i].c_str(),
                    pres.bitrates[i], pres.InManifests(i) ? "" : " (left out of the manifests)");
  if (!ismc.empty() && !WriteFile(self, ismc, pres.client.Write())) return false;
  if (!ism.empty() && !WriteFile(self, ism, pres.server.Write())) return false;
  PostManifestsOutcome(self, pres, ism, ismc);
  return true;
}
