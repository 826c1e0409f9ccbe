// How one fragment's bytes become output buffers without copying a sample:
// the moof + mdat header bytes, then the samples' own GstMemory, packed into
// as few buffers as a GstBuffer's memory limit allows (16 memories), in one
// GstBufferList. Both file and live output use it; live mode then stamps the
// first buffer (ismvmux_live.cpp).
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <vector>

#include "ismvmux_private.h"

namespace ismvmux {

// The buffers of one fragment: the first holds `header` and the memories of
// the first payloads that fit with it, each further one up to
// gst_buffer_get_max_memory() payload memories (a payload's memories never
// span two buffers). Every memory is shared (gst_memory_ref), never merged
// or written to; the payload buffers are released. Sets each buffer's OFFSET
// and OFFSET_END from `*offset`, which it advances by the fragment's size.
// No timestamps, no flags.
GstBufferList* FragmentBufferList(std::vector<uint8_t> header, std::vector<BufferPtr> payloads, uint64_t* offset);

}  // namespace ismvmux
