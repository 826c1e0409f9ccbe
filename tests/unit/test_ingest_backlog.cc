// Unit tests of IngestBacklog: what a live ingest sender resends after a
// reconnect, what it may free, and what it drops when the server is away.
#include <glib.h>

#include <algorithm>
#include <vector>

#include "ingest_backlog.h"

using piff::IngestBacklog;
using piff::IngestBacklogLimits;
using piff::IngestFragment;

namespace {

// Fragment `seq` of track 1 + seq % 2 (two interleaved tracks), 2 s, 1000 bytes.
IngestFragment Frag(uint64_t seq, uint64_t bytes = 1000) {
  IngestFragment f;
  f.seq = seq;
  f.track_id = 1 + static_cast<uint32_t>(seq % 2);
  f.duration = 20000000;
  f.timescale = 10000000;
  f.bytes = bytes;
  return f;
}

// Hands everything queued; returns the sequence numbers in order.
std::vector<uint64_t> HandAll(IngestBacklog* b, size_t* resends = nullptr) {
  std::vector<uint64_t> out;
  bool resend = false;
  while (auto s = b->Hand(&resend)) {
    out.push_back(*s);
    if (resend && resends) (*resends)++;
  }
  return out;
}

void TestCleanFlowFreesAllButResendSet() {
  IngestBacklog b;
  for (uint64_t i = 0; i < 10; i++) b.Add(Frag(i));
  g_assert_cmpuint(b.pending_fragments(), ==, 10);
  g_assert_cmpuint(b.pending_bytes(), ==, 10000);
  std::vector<uint64_t> handed = HandAll(&b);
  g_assert_cmpuint(handed.size(), ==, 10);
  for (uint64_t i = 0; i < 10; i++) {
    g_assert_cmpuint(handed[i], ==, i);
    b.OnWritten(i, 100 + 1000 * (i + 1));
  }
  // Acked up to the end of fragment 4: 0..4 confirmed.
  std::vector<uint64_t> c = b.OnAcked(100 + 5000);
  g_assert_cmpuint(c.size(), ==, 5);
  g_assert_cmpuint(b.pending_fragments(), ==, 5);
  // All confirmed: only the last two per track (6,7,8,9) are kept.
  b.OnAcked(1u << 30);
  g_assert_true(b.empty());
  std::vector<uint64_t> rel = b.TakeReleased();
  std::sort(rel.begin(), rel.end());
  g_assert_cmpuint(rel.size(), ==, 6);
  for (uint64_t i = 0; i < 6; i++) g_assert_cmpuint(rel[i], ==, i);
  g_assert_cmpuint(b.TakeReleased().size(), ==, 0);  // each listed once
}

void TestReconnectResendsLastTwoPerTrackAndUnconfirmed() {
  IngestBacklog b;
  for (uint64_t i = 0; i < 10; i++) b.Add(Frag(i));
  HandAll(&b);
  for (uint64_t i = 0; i < 10; i++) b.OnWritten(i, 1000 * (i + 1));
  b.OnAcked(3000);  // 0,1,2 confirmed; 3..9 written but not known delivered
  g_assert_cmpuint(b.TakeReleased().size(), ==, 0);  // 0..2 are in the resend set
  b.OnAcked(5000);  // 3, 4 too: 0 leaves the resend set (track 1 has 2, 4)
  std::vector<uint64_t> rel = b.TakeReleased();
  g_assert_cmpuint(rel.size(), ==, 1);
  g_assert_cmpuint(rel[0], ==, 0);
  // 2, 4 (track 1) and 1, 3 (track 2) are the last confirmed per track; 5..9
  // are not known delivered (they hold the last two sent per track, 6..9).
  size_t again = b.OnConnectionLost();
  g_assert_cmpuint(again, ==, 9);  // 1..9
  size_t resends = 0;
  std::vector<uint64_t> handed = HandAll(&b, &resends);
  g_assert_cmpuint(resends, ==, 9);
  g_assert_cmpuint(handed.front(), ==, 1);
  g_assert_cmpuint(handed.back(), ==, 9);
  // New fragments follow the resends.
  b.Add(Frag(10));
  g_assert_cmpuint(*b.Hand(), ==, 10);
}

void TestReconnectAfterEverythingConfirmed() {
  IngestBacklog b;
  for (uint64_t i = 0; i < 6; i++) b.Add(Frag(i));
  HandAll(&b);
  for (uint64_t i = 0; i < 6; i++) b.OnWritten(i, 10 * (i + 1));
  b.OnAcked(1000);
  g_assert_true(b.empty());
  g_assert_cmpuint(b.OnConnectionLost(), ==, 4);  // 2,3 (tracks 1,2) and 4,5
  g_assert_cmpuint(b.pending_fragments(), ==, 4);
  g_assert_cmpuint(b.pending_bytes(), ==, 4000);
  std::vector<uint64_t> handed = HandAll(&b);
  g_assert_cmpuint(handed.size(), ==, 4);
  g_assert_cmpuint(handed[0], ==, 2);
  g_assert_cmpuint(handed[3], ==, 5);
  // A written mark only counts on its own connection: a lost connection
  // forgets it, so an ack of the old position confirms nothing new.
  g_assert_cmpuint(b.OnAcked(1000).size(), ==, 0);
}

// Fragments 0..n-1 of track 1 (the first also of track 2 when `shared`),
// sent and all confirmed.
void SendTrack1AndConfirm(IngestBacklog* b, uint64_t n, bool shared) {
  for (uint64_t i = 0; i < n; i++) {
    IngestFragment f = Frag(i);
    f.track_id = 1;
    if (i == 0 && shared) f.other_tracks = {2};
    b->Add(f);
  }
  HandAll(b);
  for (uint64_t i = 0; i < n; i++) b->OnWritten(i, 10 * (i + 1));
  b->OnAcked(1000);
}

// A moof with trafs of tracks 1 and 2 (seq 0), then fragments of track 1
// only: it stays among the last two of track 2 and is resent for it.
void TestMultiTrafFiledUnderEveryTrack() {
  IngestBacklog b;
  SendTrack1AndConfirm(&b, 6, true);
  // Track 1's last two are 4, 5; track 2's is 0: 1, 2, 3 are freed, 0 is kept.
  std::vector<uint64_t> rel = b.TakeReleased();
  std::sort(rel.begin(), rel.end());
  g_assert_cmpuint(rel.size(), ==, 3);
  g_assert_cmpuint(rel[0], ==, 1);
  g_assert_cmpuint(rel[2], ==, 3);
  g_assert_cmpuint(b.OnConnectionLost(), ==, 3);
  std::vector<uint64_t> handed = HandAll(&b);
  g_assert_cmpuint(handed.size(), ==, 3);
  g_assert_cmpuint(handed[0], ==, 0);
  g_assert_cmpuint(handed[1], ==, 4);
  g_assert_cmpuint(handed[2], ==, 5);
  // Filed under track 1 only, the same moof would have been freed.
  IngestBacklog one;
  SendTrack1AndConfirm(&one, 6, false);
  g_assert_cmpuint(one.TakeReleased().size(), ==, 4);
}

// The time limit counts a multi-traf fragment for each of its tracks.
void TestMultiTrafCountsForTimeOfEachTrack() {
  IngestBacklogLimits limits;
  limits.max_duration_ms = 5000;
  IngestBacklog b(limits);
  IngestFragment both = Frag(0);
  both.track_id = 1;
  both.other_tracks = {2};
  g_assert_cmpuint(b.Add(both).size(), ==, 0);
  IngestFragment t2 = Frag(1);
  t2.track_id = 2;
  g_assert_cmpuint(b.Add(t2).size(), ==, 0);  // track 2: 4 s
  IngestFragment again = Frag(3);
  again.track_id = 2;
  std::vector<uint64_t> d = b.Add(again);  // track 2: 6 s > 5 s: the oldest of track 2 (the shared one) goes
  g_assert_cmpuint(d.size(), ==, 1);
  g_assert_cmpuint(d[0], ==, 0);
}

// A new header at fragment 6: older fragments are not handed on the old
// POST's successor, leave the resend set, and the unconfirmed are reported.
void TestForgetAtNewHeader() {
  IngestBacklog b;
  for (uint64_t i = 0; i < 9; i++) b.Add(Frag(i));
  std::vector<uint64_t> handed;
  while (auto s = b.Hand(nullptr, 6)) handed.push_back(*s);
  g_assert_cmpuint(handed.size(), ==, 6);  // 0..5 only
  g_assert_cmpuint(b.queued_fragments(6), ==, 0);
  g_assert_cmpuint(b.queued_fragments(), ==, 3);
  for (uint64_t i = 0; i < 6; i++) b.OnWritten(i, 10 * (i + 1));
  b.OnAcked(40);  // 0..3 confirmed; 4, 5 not
  b.TakeReleased();
  std::vector<uint64_t> lost = b.Forget(6);
  g_assert_cmpuint(lost.size(), ==, 2);
  g_assert_cmpuint(lost[0], ==, 4);
  g_assert_cmpuint(lost[1], ==, 5);
  g_assert_cmpuint(b.TakeReleased().size(), ==, 6);  // 0..3 (the resend set) and 4, 5
  g_assert_cmpuint(b.pending_fragments(), ==, 3);
  // A reconnect now resends nothing of the old header.
  g_assert_cmpuint(b.OnConnectionLost(), ==, 0);
  g_assert_cmpuint(*b.Hand(), ==, 6);
}

void TestOverflowDropsOldestNeverSent() {
  IngestBacklogLimits lim;
  lim.max_bytes = 5000;
  IngestBacklog b(lim);
  std::vector<uint64_t> dropped;
  for (uint64_t i = 0; i < 8; i++) {
    auto d = b.Add(Frag(i));
    dropped.insert(dropped.end(), d.begin(), d.end());
  }
  g_assert_cmpuint(dropped.size(), ==, 3);
  for (uint64_t i = 0; i < 3; i++) g_assert_cmpuint(dropped[i], ==, i);
  g_assert_cmpuint(b.pending_bytes(), ==, 5000);
  g_assert_cmpuint(b.TakeReleased().size(), ==, 3);
  // Fragments handed to a connection are not dropped, even when over.
  HandAll(&b);
  g_assert_cmpuint(b.Add(Frag(8)).size(), ==, 0);
  g_assert_cmpuint(b.pending_fragments(), ==, 6);
  // A single fragment above the limit is kept (never the new one).
  IngestBacklog small(lim);
  g_assert_cmpuint(small.Add(Frag(0, 9000)).size(), ==, 0);
  g_assert_cmpuint(small.pending_fragments(), ==, 1);
}

void TestOverflowByTimePerTrack() {
  IngestBacklogLimits lim;
  lim.max_duration_ms = 6000;  // three 2 s fragments per track
  IngestBacklog b(lim);
  std::vector<uint64_t> dropped;
  for (uint64_t i = 0; i < 10; i++) {
    auto d = b.Add(Frag(i));
    dropped.insert(dropped.end(), d.begin(), d.end());
  }
  // Each track holds 5 fragments (10 s): the two oldest of each are dropped.
  g_assert_cmpuint(dropped.size(), ==, 4);
  std::sort(dropped.begin(), dropped.end());
  for (uint64_t i = 0; i < 4; i++) g_assert_cmpuint(dropped[i], ==, i);
  g_assert_cmpuint(b.pending_fragments(), ==, 6);
}

void TestTicksToMs() {
  g_assert_cmpuint(IngestBacklog::TicksToMs(20000000, 10000000), ==, 2000);
  g_assert_cmpuint(IngestBacklog::TicksToMs(1, 3000), ==, 0);
  g_assert_cmpuint(IngestBacklog::TicksToMs(UINT64_MAX, 10000000), ==, UINT64_MAX / 10000000 * 1000 + 955);
  g_assert_cmpuint(IngestBacklog::TicksToMs(5, 0), ==, 0);
  g_assert_cmpuint(piff::IngestSendTimeoutMs(2000), ==, 3000);
  g_assert_cmpuint(piff::IngestSendTimeoutMs(200), ==, 1000);
  g_assert_cmpuint(piff::IngestSendTimeoutMs(0), ==, 10000);
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/ingest_backlog/clean_flow", TestCleanFlowFreesAllButResendSet);
  g_test_add_func("/ingest_backlog/reconnect_resends", TestReconnectResendsLastTwoPerTrackAndUnconfirmed);
  g_test_add_func("/ingest_backlog/reconnect_after_confirmed", TestReconnectAfterEverythingConfirmed);
  g_test_add_func("/ingest_backlog/multi_traf", TestMultiTrafFiledUnderEveryTrack);
  g_test_add_func("/ingest_backlog/multi_traf_time", TestMultiTrafCountsForTimeOfEachTrack);
  g_test_add_func("/ingest_backlog/forget", TestForgetAtNewHeader);
  g_test_add_func("/ingest_backlog/overflow_bytes", TestOverflowDropsOldestNeverSent);
  g_test_add_func("/ingest_backlog/overflow_time", TestOverflowByTimePerTrack);
  g_test_add_func("/ingest_backlog/ticks_to_ms", TestTicksToMs);
  return g_test_run();
}
