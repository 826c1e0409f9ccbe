// ismvmux's live mode (live=true): the output is a Smooth Streaming ingest
// stream for a publishing point (digest section 4.2), pushed as it is made.
//
// The contract with downstream (smoothsink, or any element):
//   * the header - ftyp + Live Server Manifest + moov, the same bytes every
//     time and in both of two encoders with the same settings - is one buffer
//     flagged GST_BUFFER_FLAG_HEADER without timestamps, pushed first and also
//     carried in the src caps `video/quicktime, variant=isml, streamheader=<it>`;
//   * each track fragment is one GstBufferList (gst_pad_push_list) holding
//     exactly that fragment's whole moof + mdat. Its first buffer starts
//     with the moof: PTS = DTS = the fragment's start (tfxd time as
//     GstClockTime), DURATION = its duration, DELTA_UNIT unset when it starts
//     with a sync sample, and a GstIsmvFragmentMeta: a custom meta whose
//     structure "ismv-fragment" has track-id (uint), track-name (string, as
//     in Fragments(name=...)), time and duration (guint64 ticks, == tfxd),
//     timescale (uint), sequence (uint, mfhd), keyframe (boolean) and size
//     (guint64, the fragment's bytes over all its buffers). The samples'
//     memories are shared, never copied: a GstBuffer holds 16 memories, so
//     a fragment of more than 15 sample memories goes on in further buffers
//     of up to 16 each, without timestamps or meta and flagged DELTA_UNIT
//     (a continuation). A fragment of up to 15 is a list of one buffer.
//     Sinks that render buffer by buffer (GstBaseSink's default
//     render_list) get the first buffer, then the continuations; the
//     byte stream is the same;
//   * at EOS the empty 8-byte mfra (live-end-mfra=true), then EOS.
// No seeks, no mfra index, no manifest files. The meta is a convenience: the
// bytes alone say the same (the core's StreamReader reads them).
//
// Also here: fragment-boundaries=clock-grid for timecode-ganged redundant
// encoders (snapping, cell boundaries, force-key-unit requests; the rules
// are the core's, clock_grid.h), and the aggregator's live timeout.
#pragma once

#include <gst/base/gstaggregator.h>
#include <gst/gst.h>

#include <vector>

#include "fragment.h"
#include "ismvmux_private.h"

namespace ismvmux {

// The custom meta's registered name and its structure's name.
inline constexpr const char* kFragmentMetaName = "GstIsmvFragmentMeta";
inline constexpr const char* kFragmentStructureName = "ismv-fragment";
void RegisterFragmentMeta();

// Builds the live header from the tracks (with their protection), sets the
// src caps with it as streamheader and a TIME segment whose running time is
// the input's, and pushes it flagged HEADER.
GstFlowReturn PushLiveHeader(GstIsmvMux* self, const std::vector<piff::TrackConfig>& configs);

// Pushes one track fragment's buffer list (from FragmentBufferList; taken)
// stamped as the contract above says: the first buffer's timestamps, flags
// and meta, DELTA_UNIT on the continuations.
GstFlowReturn PushLiveFragment(GstIsmvMux* self, const Track& t, GstBufferList* list,
                               const piff::FragmentParams& params, const WrittenFragment& fragment, bool keyframe);

// After the last fragments: the empty mfra when asked for.
GstFlowReturn FinishLive(GstIsmvMux* self);

// The src caps in live mode: with the streamheader once the header is
// built; GST_AGGREGATOR_FLOW_NEED_DATA before (so that no caps without it
// go downstream).
GstFlowReturn LiveSrcCaps(GstIsmvMux* self, GstCaps** ret);

// GstAggregatorClass::get_next_time: none before the header (the first
// output waits for every pad, as the origin and header need them all); then
// the running time of the last sample taken, so that a pad that stops
// delivering (a stalled live source) is given up on after the latency and
// the other tracks go on. `starved`: a timed-out aggregate found no sample
// on any pad; the next timeout is then counted from the clock's now.
GstClockTime LiveNextTime(GstIsmvMux* self);
void NoteSampleTaken(GstIsmvMux* self, GstAggregatorPad* pad, GstBuffer* buf);
void NoteStarved(GstIsmvMux* self);

// clock-grid: the track's frame grid from its caps (video framerate; AAC:
// 1024 samples at the AudioSpecificConfig's core rate).
piff::FrameGrid GridFromCaps(const GstStructure* caps, const piff::TrackConfig& config);
// Snaps a new sample's PTS/DTS (origin-relative ns) to the track's frame
// grid and asks upstream for the next boundary's keyframe. False when the
// sample comes before the track's first cell start and is dropped (counted,
// reported when the track starts).
bool GridAdmitSample(GstIsmvMux* self, Track* t, PendingSample* s);
// The number of pending samples that make the track's finished fragment now
// that its newest sample arrived (0: none finished).
size_t GridFragmentReady(GstIsmvMux* self, Track* t);

}  // namespace ismvmux
