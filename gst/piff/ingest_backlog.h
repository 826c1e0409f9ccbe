// IngestBacklog: which fragments of a live ingest stream (smoothsink) are
// still owed to the publishing point, and which are resent after a reconnect.
//
// The encoder-side rules it implements ([AMS-INGEST] §4 req. 7, §7; digest
// §4.4): after a TCP error, a timeout or a 5xx the sink opens a new POST to
// the same URL, resends the identical header, then the last two fragments of
// every track that were already sent, then continues. Bytes written into a
// socket are not delivered bytes, so a fragment only counts as confirmed once
// the kernel reports the connection's peer acknowledged its last byte
// (OnWritten gives the socket position of that byte, OnAcked the peer's
// acknowledged position). So the resend set is, per track, the last two
// confirmed fragments and every fragment not confirmed: it always holds the
// last two sent per track (acknowledgements come in order on a connection),
// and it overlaps what the server surely has.
//
// While the server is away, fragments queue here. The backlog (every
// fragment not confirmed) is bounded in bytes and in media time per track;
// on overflow the oldest fragments that were never handed to a connection
// are dropped and returned to the caller, which reports them. Fragments
// already in flight are not dropped: the socket holds them anyway.
//
// Fragments are named by a sequence number (input order); the caller keeps
// their bytes and frees them when Release lists them. No I/O, no clock.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace piff {

struct IngestFragment {
  uint64_t seq = 0;  // strictly increasing, input order
  uint32_t track_id = 0;
  // The tracks of further trafs in the same moof (the ingest layout has one
  // per moof; a moof with several counts as a fragment of each of them for
  // the resend rule and the time limit).
  std::vector<uint32_t> other_tracks;
  uint64_t duration = 0;   // ticks
  uint32_t timescale = 0;  // ticks per second (0: duration unknown)
  uint64_t bytes = 0;
};

struct IngestBacklogLimits {
  uint64_t max_bytes = 64ull << 20;
  uint64_t max_duration_ms = 60000;  // per track
};

class IngestBacklog {
 public:
  explicit IngestBacklog(IngestBacklogLimits limits = IngestBacklogLimits()) : limits_(limits) {}

  // Queues a new fragment to be sent. Returns the fragments dropped to keep
  // within the limits (oldest first; never the new one).
  std::vector<uint64_t> Add(const IngestFragment& f);

  // The next fragment to hand to the current connection, in sequence order
  // (resends first, they are older), or nothing. `resend` says whether it was
  // handed to an earlier connection already.
  // Only fragments before `before` (the first fragment of a new header).
  std::optional<uint64_t> Hand(bool* resend = nullptr, uint64_t before = UINT64_MAX);
  // The fragment's last byte went into the socket at socket position `mark`
  // (bytes ever written to this connection's socket, including headers).
  void OnWritten(uint64_t seq, uint64_t mark);
  // The peer acknowledged socket bytes [0, acked). Returns the fragments
  // this confirmed.
  std::vector<uint64_t> OnAcked(uint64_t acked);
  // The connection is gone (a new one will start at socket position 0):
  // every fragment not confirmed, and the last two confirmed per track, are
  // queued again. Returns how many are to be resent.
  size_t OnConnectionLost();

  // The stream restarted with a new header at fragment `before`: every older
  // fragment leaves the backlog (and the resend set: it belongs to the old
  // header). Returns those that were not confirmed (lost), oldest first.
  std::vector<uint64_t> Forget(uint64_t before);

  // Fragments whose bytes the caller may free now (confirmed and not kept
  // for a resend, or dropped); each is listed once.
  std::vector<uint64_t> TakeReleased();

  // Fragments not confirmed, and their bytes.
  size_t pending_fragments() const { return pending_count_; }
  uint64_t pending_bytes() const { return pending_bytes_; }
  // Fragments not yet handed to the current connection.
  size_t queued_fragments(uint64_t before = UINT64_MAX) const;
  // Fragments handed and not yet confirmed (in flight).
  size_t unconfirmed_in_flight() const;
  bool empty() const { return pending_count_ == 0; }

  // Milliseconds of media in `ticks` at `timescale` (integer, rounds down).
  static uint64_t TicksToMs(uint64_t ticks, uint32_t timescale);

 private:
  enum class State { kQueued, kHanded, kWritten, kConfirmed };
  struct Entry {
    IngestFragment f;
    State state = State::kQueued;
    bool sent_before = false;  // handed to some connection
    uint64_t mark = 0;
  };

  Entry* Find(uint64_t seq);
  static bool Carries(const IngestFragment& f, uint32_t track_id);
  bool InResendSet(const Entry& e) const;
  void Settle();  // frees confirmed entries that left the resend set
  uint64_t TrackPendingMs(uint32_t track_id) const;
  void Unpend(const Entry& e);
  void Confirm(Entry* e);

  IngestBacklogLimits limits_;
  std::deque<Entry> entries_;  // sequence order
  std::map<uint32_t, std::vector<uint64_t>> last_confirmed_;  // per track: the last two confirmed carrying it
  std::vector<uint64_t> released_;
  size_t pending_count_ = 0;
  uint64_t pending_bytes_ = 0;
};

// The send timeout for fragments of `fragment_ms` ([AMS-INGEST] §4: between
// one and two fragment durations): 1.5 durations, at least 1 s; 10 s while
// the duration is unknown.
uint64_t IngestSendTimeoutMs(uint64_t fragment_ms);

}  // namespace piff
