// BoxTree: the layout of an ISO BMFF / PIFF file (every box's type, offset
// and size, nested) read from box headers only, through a ByteSource. Used by
// `gst-smooth inspect` to show a file's structure without loading it: box
// bodies (mdat payloads, sample tables) are never read, so memory and I/O are
// bounded by the number of boxes, not the file size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fourcc.h"
#include "media_index.h"
#include "status.h"

namespace piff {

struct BoxNode {
  FourCC type = 0;
  Uuid usertype{};            // only for 'uuid'
  uint64_t offset = 0;        // of the first header byte, in the file
  uint64_t size = 0;          // whole box, header included
  uint32_t header_size = 0;   // 8, 16, +16 for uuid
  std::vector<BoxNode> children;

  // "tfxd", "tfrf", "LiveServerManifest", "StreamManifest", "piff-pssh",
  // "piff-tenc", "piff-senc" for the PIFF/Smooth uuid boxes, "uuid" for
  // others, else the four-character type.
  std::string Name() const;
};

// The short name of a known PIFF / Smooth Streaming extended type, or "".
std::string UuidBoxName(const Uuid& usertype);

struct BoxTreeOptions {
  // Stop descending (children are not listed) below this depth; top level is 0.
  uint32_t max_depth = 16;
  // Stop adding nodes after this many (a hostile file of tiny boxes cannot
  // exhaust memory); a problem says so.
  uint64_t max_nodes = 4000000;
};

// Reads the top-level boxes of `source` and, for container boxes (moov, trak,
// mdia, minf, stbl, stsd, sample entries, dinf, mvex, moof, traf, mfra, edts,
// udta, meta, sinf, schi, tref, ...), their children. A box whose size runs
// past its parent or the end of the file stops the walk at that level with a
// problem naming the offset; what precedes it is kept. Fails only on I/O
// errors.
Status ReadBoxTree(ByteSource& source, const BoxTreeOptions& options, std::vector<BoxNode>* out,
                   std::vector<std::string>* problems);

}  // namespace piff
