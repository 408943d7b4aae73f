#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "runtime/memory_plan.h"

namespace edgekit {

TEST(MemoryPlan, ChainReusesMemory) {
  // a -> b -> c -> d: each buffer dies when the next is made, so two slots suffice.
  std::vector<BufferRequest> reqs = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  MemoryPlan p = plan_memory(reqs);
  check_memory_plan(reqs, p);
  EXPECT_EQ(p.arena_bytes, 2 * 1024u);
  EXPECT_EQ(p.naive_bytes, 4 * 1024u);
}

TEST(MemoryPlan, ResidualKeepsSkipAlive) {
  // x lives across the block (read at step 3), so three buffers overlap at step 2.
  std::vector<BufferRequest> reqs = {{512, 0, 3}, {512, 1, 2}, {512, 2, 3}, {512, 3, 4}};
  MemoryPlan p = plan_memory(reqs);
  check_memory_plan(reqs, p);
  EXPECT_EQ(p.arena_bytes, 3 * 512u);
}

TEST(MemoryPlan, RandomPlansAreValidAndNoWorseThanNaive) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BufferRequest> reqs(1 + rng() % 40);
    for (auto& r : reqs) {
      r.bytes = rng() % 5000;
      r.first_step = int(rng() % 30);
      r.last_step = r.first_step + int(rng() % 10);
    }
    MemoryPlan p = plan_memory(reqs);
    ASSERT_NO_THROW(check_memory_plan(reqs, p));
    EXPECT_LE(p.arena_bytes, p.naive_bytes);
    // lower bound: the bytes live at the busiest step
    size_t peak = 0;
    for (int s = 0; s < 40; ++s) {
      size_t live = 0;
      for (auto& r : reqs)
        if (r.first_step <= s && s <= r.last_step) live += r.bytes;
      peak = std::max(peak, live);
    }
    EXPECT_GE(p.arena_bytes, peak);
  }
}

TEST(MemoryPlan, RejectsInvertedLifetime) { EXPECT_THROW(plan_memory({{16, 3, 1}}), Error); }

TEST(MemoryPlan, CheckCatchesOverlap) {
  std::vector<BufferRequest> reqs = {{100, 0, 2}, {100, 1, 3}};
  MemoryPlan bad;
  bad.offsets = {0, 0};
  bad.arena_bytes = 128;
  EXPECT_THROW(check_memory_plan(reqs, bad), Error);
}

}  // namespace edgekit
