// SMIL server manifest (.ism / Live Server Manifest) parsing and writing.
#include "server_manifest.h"

#include <glib.h>

namespace piff {

namespace {

using manifest_xml::Element;
using manifest_xml::FindAttribute;

constexpr const char* kSmilNamespace = "http://www.w3.org/2001/SMIL20/Language";
constexpr const char* kClientManifestMeta = "clientManifestRelativePath";

Status ParseTrack(const Element& el, const std::string& path, ServerTrack* track) {
  track->kind = el.name;
  bool have_bitrate = false;
  for (const auto& kv : el.attributes) {
    const std::string& name = kv.first;
    if (name == "src") {
      track->src = kv.second;
    } else if (name == "systemBitrate") {
      std::string reason;
      if (!manifest_xml::ParseUint32(kv.second, &track->system_bitrate, &reason))
        return Status::Error(path + "@systemBitrate: " + reason);
      have_bitrate = true;
    } else if (name == "systemLanguage") {
      track->system_language = kv.second;
    } else {
      track->unknown_attributes.push_back(kv);
    }
  }
  if (!have_bitrate) return Status::Error(path + "@systemBitrate: missing");
  size_t k = 0;
  for (const Element& child : el.children) {
    if (child.name != "param") continue;
    std::string where = path + "/param[" + std::to_string(k++) + "]";
    const std::string* name = FindAttribute(child, "name");
    if (!name) return Status::Error(where + "@name: missing");
    ServerParam p;
    p.name = *name;
    if (const std::string* value = FindAttribute(child, "value")) p.value = *value;
    // IIS documents "valuetype"; FFmpeg's ismindex and Bento4 write "valueType".
    const std::string* type = FindAttribute(child, "valuetype");
    if (!type) type = FindAttribute(child, "valueType");
    if (type) p.valuetype = *type;
    track->params.push_back(std::move(p));
  }
  return Status::Ok();
}

void Attr(std::string& out, const char* name, const std::string& value) {
  manifest_xml::AppendAttribute(out, name, value);
}

}  // namespace

const ServerParam* ServerTrack::FindParam(const std::string& name) const {
  for (const ServerParam& p : params)
    if (g_ascii_strcasecmp(p.name.c_str(), name.c_str()) == 0) return &p;
  return nullptr;
}

void ServerTrack::SetParam(const std::string& name, const std::string& value) {
  for (ServerParam& p : params) {
    if (g_ascii_strcasecmp(p.name.c_str(), name.c_str()) == 0) {
      p.value = value;
      return;
    }
  }
  params.push_back({name, value, "data"});
}

std::optional<uint32_t> ServerTrack::track_id() const {
  const ServerParam* p = FindParam("trackID");
  uint32_t id = 0;
  std::string reason;
  if (!p || !manifest_xml::ParseUint32(p->value, &id, &reason)) return std::nullopt;
  return id;
}

std::string ServerTrack::track_name() const {
  const ServerParam* p = FindParam("trackName");
  if (p && !p->value.empty()) return p->value;
  return kind;  // the element names are also the default track names
}

std::string ServerManifest::client_manifest_relative_path() const {
  const std::string* v = FindMeta(kClientManifestMeta);
  return v ? *v : std::string();
}

void ServerManifest::set_client_manifest_relative_path(const std::string& path) {
  for (auto& kv : meta) {
    if (kv.first == kClientManifestMeta) {
      kv.second = path;
      return;
    }
  }
  meta.emplace_back(kClientManifestMeta, path);
}

const std::string* ServerManifest::FindMeta(const std::string& name) const {
  for (const auto& kv : meta)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

Status ServerManifest::Parse(const std::string& xml, ServerManifest* out) {
  Element root;
  Status s = manifest_xml::ParseDocument(xml, &root);
  if (!s) return s;
  if (root.name != "smil") return Status::Error("root element is <" + root.name + ">, expected <smil>");
  // GMarkup does not resolve namespaces; a missing xmlns is tolerated, a
  // different default namespace means this is not a SMIL 2.0 manifest.
  if (const std::string* ns = FindAttribute(root, "xmlns")) {
    if (*ns != kSmilNamespace && *ns != "http://www.w3.org/2001/SMIL20/")
      return Status::Error("smil@xmlns: unexpected namespace \"" + *ns + "\"");
  }

  ServerManifest m;
  for (const Element& section : root.children) {
    if (section.name == "head") {
      size_t k = 0;
      for (const Element& el : section.children) {
        if (el.name != "meta") continue;
        std::string where = "head/meta[" + std::to_string(k++) + "]";
        const std::string* name = FindAttribute(el, "name");
        if (!name) return Status::Error(where + "@name: missing");
        const std::string* content = FindAttribute(el, "content");
        m.meta.emplace_back(*name, content ? *content : std::string());
      }
    } else if (section.name == "body") {
      for (const Element& sw : section.children) {
        if (sw.name != "switch") continue;
        std::vector<std::pair<std::string, size_t>> per_kind;  // element name -> count
        for (const Element& el : sw.children) {
          size_t n = 0;
          bool found = false;
          for (auto& kc : per_kind) {
            if (kc.first == el.name) {
              n = kc.second++;
              found = true;
            }
          }
          if (!found) per_kind.emplace_back(el.name, 1);
          ServerTrack track;
          s = ParseTrack(el, "switch/" + el.name + "[" + std::to_string(n) + "]", &track);
          if (!s) return s;
          m.tracks.push_back(std::move(track));
        }
      }
    }
  }
  *out = std::move(m);
  return Status::Ok();
}

std::string ServerManifest::Write(const ServerManifestWriteOptions&) const {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<smil";
  Attr(out, "xmlns", kSmilNamespace);
  out += ">\n";
  if (meta.empty()) {
    out += "  <head/>\n";
  } else {
    out += "  <head>\n";
    for (const auto& kv : meta) {
      out += "    <meta";
      Attr(out, "name", kv.first);
      Attr(out, "content", kv.second);
      out += "/>\n";
    }
    out += "  </head>\n";
  }
  out += "  <body>\n    <switch>\n";
  for (const ServerTrack& t : tracks) {
    out += "      <" + t.kind;
    if (!t.src.empty()) Attr(out, "src", t.src);
    Attr(out, "systemBitrate", std::to_string(t.system_bitrate));
    if (t.system_language) Attr(out, "systemLanguage", *t.system_language);
    for (const auto& kv : t.unknown_attributes) Attr(out, kv.first.c_str(), kv.second);
    if (t.params.empty()) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    for (const ServerParam& p : t.params) {
      out += "        <param";
      Attr(out, "name", p.name);
      Attr(out, "value", p.value);
      Attr(out, "valuetype", p.valuetype.empty() ? std::string("data") : p.valuetype);
      out += "/>\n";
    }
    out += "      </" + t.kind + ">\n";
  }
  out += "    </switch>\n  </body>\n</smil>\n";
  return out;
}

}  // namespace piff
