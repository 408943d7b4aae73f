#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace edgekit {

namespace {
size_t align_up(size_t n) { return (n + MemoryPlan::kAlignment - 1) / MemoryPlan::kAlignment * MemoryPlan::kAlignment; }
bool live_together(const BufferRequest& a, const BufferRequest& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}
}  // namespace

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by earlier start keep the plan deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first_step < requests[b].first_step;
  });
  std::vector<size_t> placed;
  std::vector<std::pair<size_t, size_t>> busy;  // [begin, end) of live neighbours, reused
  for (size_t r : order) {
    const BufferRequest& req = requests[r];
    EK_CHECK(req.first_step <= req.last_step, "memory plan: buffer ", r, " ends (step ", req.last_step,
             ") before it starts (step ", req.first_step, ")");
    size_t size = align_up(req.bytes);
    plan.naive_bytes += size;
    busy.clear();
    for (size_t p : placed)
      if (live_together(req, requests[p])) busy.emplace_back(plan.offsets[p], plan.offsets[p] + align_up(requests[p].bytes));
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;  // first gap that fits, scanning neighbours by offset
    for (const auto& [begin, end] : busy) {
      if (begin >= offset + size) break;
      offset = std::max(offset, end);
    }
    plan.offsets[r] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
    placed.push_back(r);
  }
  return plan;
}

void check_memory_plan(const std::vector<BufferRequest>& requests, const MemoryPlan& plan) {
  for (size_t i = 0; i < requests.size(); ++i) {
    EK_CHECK(plan.offsets[i] % MemoryPlan::kAlignment == 0, "memory plan: buffer ", i, " is misaligned");
    EK_CHECK(plan.offsets[i] + requests[i].bytes <= plan.arena_bytes, "memory plan: buffer ", i, " exceeds the arena");
    for (size_t j = i + 1; j < requests.size(); ++j) {
      if (!live_together(requests[i], requests[j]) || !requests[i].bytes || !requests[j].bytes) continue;
      bool apart = plan.offsets[i] + requests[i].bytes <= plan.offsets[j] ||
                   plan.offsets[j] + requests[j].bytes <= plan.offsets[i];
      EK_CHECK(apart, "memory plan: buffers ", i, " and ", j, " are live together and overlap");
    }
  }
}

}  // namespace edgekit
