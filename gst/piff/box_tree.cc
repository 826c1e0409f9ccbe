// ReadBoxTree: a header-only walk over a ByteSource. Which boxes have
// children, and how many bytes of fields precede them (stsd, dref, sample
// entries, meta), is decided here so that tools never walk boxes themselves.
#include "box_tree.h"

#include <algorithm>
#include <cstring>

#include "box_buffer.h"

namespace piff {

namespace {

// Containers whose children start right after the box header.
bool IsPlainContainer(FourCC t) {
  static const FourCC kTypes[] = {
      MakeFourCC("moov"), MakeFourCC("trak"), MakeFourCC("mdia"), MakeFourCC("minf"), MakeFourCC("stbl"),
      MakeFourCC("dinf"), MakeFourCC("mvex"), MakeFourCC("moof"), MakeFourCC("traf"), MakeFourCC("mfra"),
      MakeFourCC("edts"), MakeFourCC("udta"), MakeFourCC("sinf"), MakeFourCC("schi"), MakeFourCC("tref"),
      MakeFourCC("rinf"), MakeFourCC("ipro"), MakeFourCC("meco"), MakeFourCC("strk"), MakeFourCC("strd"),
  };
  return std::find(std::begin(kTypes), std::end(kTypes), t) != std::end(kTypes);
}

bool IsVisualSampleEntry(FourCC t) {
  static const FourCC kTypes[] = {MakeFourCC("avc1"), MakeFourCC("avc3"), MakeFourCC("encv"), MakeFourCC("hev1"),
                                  MakeFourCC("hvc1"), MakeFourCC("mp4v"), MakeFourCC("vc-1"), MakeFourCC("av01"),
                                  MakeFourCC("vp09")};
  return std::find(std::begin(kTypes), std::end(kTypes), t) != std::end(kTypes);
}

bool IsAudioSampleEntry(FourCC t) {
  static const FourCC kTypes[] = {MakeFourCC("mp4a"), MakeFourCC("enca"), MakeFourCC("ec-3"), MakeFourCC("ac-3"),
                                  MakeFourCC("Opus"), MakeFourCC("owma"), MakeFourCC("fLaC"), MakeFourCC("alac")};
  return std::find(std::begin(kTypes), std::end(kTypes), t) != std::end(kTypes);
}

struct Walker {
  ByteSource& src;
  const BoxTreeOptions& options;
  std::vector<std::string>* problems;
  uint64_t nodes = 0;
  bool node_limit_reported = false;

  // Bytes of fields between the header and the first child of `box` (whose
  // parent has type `parent`), or -1 when the box has no children to list.
  Status ChildStart(const BoxNode& box, FourCC parent, int64_t* skip) {
    *skip = -1;
    const FourCC t = box.type;
    const uint64_t body = box.size - box.header_size;
    if (IsPlainContainer(t)) {
      *skip = 0;
    } else if (t == MakeFourCC("stsd") || t == MakeFourCC("dref")) {
      *skip = 8;  // version/flags + entry_count
    } else if (t == MakeFourCC("meta")) {
      // ISO meta is a FullBox; QuickTime's is a plain container. Tell them
      // apart by where the mandatory hdlr child's type would sit.
      std::vector<uint8_t> b;
      if (body >= 12) {
        Status s = src.Read(box.offset + box.header_size, 12, &b);
        if (!s) return s;
        *skip = std::memcmp(b.data() + 4, "hdlr", 4) == 0 ? 0 : 4;
      }
    } else if (parent == MakeFourCC("stsd") && IsVisualSampleEntry(t)) {
      *skip = 8 + 70;  // SampleEntry + VisualSampleEntry fields
    } else if (parent == MakeFourCC("stsd") && IsAudioSampleEntry(t)) {
      // SampleEntry + AudioSampleEntry fields, plus the QuickTime sound
      // description v1/v2 extension named by the version field.
      std::vector<uint8_t> b;
      if (body >= 10) {
        Status s = src.Read(box.offset + box.header_size + 8, 2, &b);
        if (!s) return s;
        uint16_t qt_version = static_cast<uint16_t>((b[0] << 8) | b[1]);
        *skip = 8 + 20 + (qt_version == 1 ? 16 : qt_version == 2 ? 36 : 0);
      }
    }
    if (*skip >= 0 && static_cast<uint64_t>(*skip) > body) *skip = -1;
    return Status::Ok();
  }

  Status Walk(uint64_t start, uint64_t end, uint32_t depth, const BoxNode* parent, std::vector<BoxNode>* out) {
    uint64_t pos = start;
    std::vector<uint8_t> head;
    while (pos < end) {
      if (nodes >= options.max_nodes) {
        if (!node_limit_reported)
          problems->push_back("more than " + std::to_string(options.max_nodes) +
                              " boxes; the box tree stops at offset " + std::to_string(pos));
        node_limit_reported = true;
        return Status::Ok();
      }
      size_t want = static_cast<size_t>(std::min<uint64_t>(32, end - pos));
      Status s = src.Read(pos, want, &head);
      if (!s) return s;
      BoxHeader h;
      s = ParseBoxHeaderAt(head.data(), head.size(), end - pos, &h);
      if (!s) {
        std::string where = parent ? " inside '" + parent->Name() + "' at " + std::to_string(parent->offset) : "";
        problems->push_back("box at offset " + std::to_string(pos) + where + ": " + s.message() + " (the last " +
                            std::to_string(end - pos) + " bytes" + (parent ? " of the parent" : " of the file") +
                            " are not listed)");
        return Status::Ok();
      }
      BoxNode node;
      node.type = h.type;
      node.usertype = h.usertype;
      node.offset = pos;
      node.size = h.size;
      node.header_size = static_cast<uint32_t>(h.header_size);
      nodes++;
      if (depth + 1 < options.max_depth) {
        int64_t skip = -1;
        if (!(s = ChildStart(node, parent ? parent->type : 0, &skip))) return s;
        if (skip >= 0) {
          uint64_t child_start = pos + h.header_size + static_cast<uint64_t>(skip);
          if (!(s = Walk(child_start, pos + h.size, depth + 1, &node, &node.children))) return s;
        }
      }
      out->push_back(std::move(node));
      pos += h.size;
    }
    return Status::Ok();
  }
};

}  // namespace

std::string UuidBoxName(const Uuid& u) {
  if (u == kTfxdUuid) return "tfxd";
  if (u == kTfrfUuid) return "tfrf";
  if (u == kLiveServerManifestUuid) return "LiveServerManifest";
  if (u == kStreamManifestUuid) return "StreamManifest";
  if (u == kPiffPsshUuid) return "piff-pssh";
  if (u == kPiffTencUuid) return "piff-tenc";
  if (u == kPiffSencUuid) return "piff-senc";
  return "";
}

std::string BoxNode::Name() const {
  if (type == MakeFourCC("uuid")) {
    std::string n = UuidBoxName(usertype);
    return n.empty() ? "uuid" : n;
  }
  return FourCCToString(type);
}

Status ReadBoxTree(ByteSource& source, const BoxTreeOptions& options, std::vector<BoxNode>* out,
                   std::vector<std::string>* problems) {
  out->clear();
  Walker w{source, options, problems};
  return w.Walk(0, source.Size(), 0, nullptr, out);
}

}  // namespace piff
