// gst-smooth package, first pass: what each input MP4 holds. One
// `filesrc ! qtdemux` pipeline per input runs to EOS into fakesinks; a pad
// probe records every elementary stream's caps and, for audio, the
// fingerprint (AudioSpecificConfig, rate, channels, sample count and a
// SHA-256 over every sample's timestamps, size and bytes) that tells
// identical audio tracks of several renditions apart from different ones.
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

#include "ladder.h"
#include "status.h"

struct ProbedStream {
  std::string pad;        // qtdemux pad name (video_0, audio_0, ...): the same in the muxing pass
  enum class Kind { kVideo, kAudio, kOther } kind = Kind::kOther;
  std::string caps;       // for messages
  bool usable = false;    // H.264 (video) or raw AAC (audio/mpeg, mpegversion 4)
  uint64_t samples = 0;
  GstClockTime end = 0;   // last PTS + duration
  piff::StreamFingerprint fingerprint;  // audio only
};

struct ProbedInput {
  std::string path;
  std::vector<ProbedStream> streams;
};

// Runs the probe pipeline over `path`; fails when no sample arrives for
// `stall_timeout`, and with qtdemux's or filesrc's error message when the
// file is not a readable MP4.
piff::Status ProbeInput(const std::string& path, GstClockTime stall_timeout, ProbedInput* out);
