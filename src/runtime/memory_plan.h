// MemoryPlan: offsets of intermediate tensors in one arena, computed before anything runs.
//
// Each buffer is live from the step that writes it to the last step that reads it. Two
// buffers may share bytes when their lifetimes do not overlap. The planner is greedy by size
// (TFLite Micro's approach): buffers are placed largest first, each at the lowest 64-byte
// aligned offset where it overlaps no already-placed buffer that is live at the same time.
// O(n^2) in the number of buffers, which is fine for graphs of thousands of values.
//
// The arena is owned by whoever runs the plan (the Session); the plan only holds numbers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgekit {

struct BufferRequest {
  size_t bytes = 0;
  int first_step = 0;  // step that produces the buffer
  int last_step = 0;   // last step that reads it (>= first_step)
};

struct MemoryPlan {
  static constexpr size_t kAlignment = 64;
  std::vector<size_t> offsets;  // one per request, multiple of kAlignment
  size_t arena_bytes = 0;       // peak: what the arena must hold
  size_t naive_bytes = 0;       // sum of all buffers (aligned), what allocating each would take
};

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests);

// Throws Error if two buffers live at the same time overlap in the arena (tests and debugging).
void check_memory_plan(const std::vector<BufferRequest>& requests, const MemoryPlan& plan);

}  // namespace edgekit
