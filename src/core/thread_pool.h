// ThreadPool: a fixed set of workers that split one loop at a time.
//
//   ThreadPool pool(4);                       // the caller plus 3 workers
//   pool.parallel_for(rows, [&](int64_t begin, int64_t end) { ... });
//
// The calling thread takes part, so a pool of 1 runs everything inline with no thread. A loop
// is cut into one contiguous range per thread, of as many items each, and each range into a few
// pieces: each thread runs its own range first, front to back, then takes what is left of the
// others'. So
// consecutive loops over the same data give each thread the same part of it (still in its
// cache from the loop before: consecutive layers of a network), and the caller never waits
// for a worker that has not started (asleep, or preempted on a busy machine): it takes over
// that worker's range.
// Waking a sleeping thread costs tens of microseconds (more in a VM), more than many loops
// take, so workers spin between loops: for the whole of a model run when the run is marked
// with a RunScope (Session::run does), and for a short while (kSpinMicros) after any loop.
// A RunScope also wakes sleeping workers at its start, while the run's first serial ops go.
// An idle pool sleeps and uses no CPU. One parallel_for runs at a time per pool; a nested
// call from inside a task runs inline.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace edgekit {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Calls fn(begin, end) over disjoint chunks covering [0, n); at most kPiecesPerThread *
  // size() chunks, each at least `min_chunk` long (the last may be shorter), on any thread.
  // Returns when all chunks are done. Exceptions from fn are rethrown.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_chunk = 1);

  // Keeps the workers awake and spinning while it lives (a model run: many loops with
  // serial ops between them). Scopes may nest; a null pool is allowed.
  class RunScope {
   public:
    explicit RunScope(ThreadPool* pool);
    ~RunScope();
    RunScope(const RunScope&) = delete;
    RunScope& operator=(const RunScope&) = delete;

   private:
    ThreadPool* pool_;
  };

 private:
  void worker_loop(int self);
  void run_pieces(const std::function<void(int64_t, int64_t)>& fn, int64_t chunk, int self);

 public:
  static constexpr int kSpinMicros = 200;
  static constexpr int kPiecesPerThread = 4;

 private:
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* task_ = nullptr;  // written under mutex_
  int64_t chunk_ = 0;  // items a piece
  bool open_ = false;                    // workers may still join the posted loop (under mutex_)
  struct alignas(64) PieceRange {         // thread t's items [next, end): claimed by fetch_add
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };
  std::unique_ptr<PieceRange[]> ranges_;  // one a thread (the caller's first)
  std::atomic<uint64_t> generation_{0};  // bumped under mutex_ when a loop is posted
  std::atomic<int> active_{0};           // workers inside the posted loop
  std::atomic<int> hot_{0};             // live RunScopes: workers do not sleep
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
};

// Convenience for kernels: runs inline when pool is null (without wrapping fn in a
// std::function, which would allocate for a lambda capturing much).
template <class Fn>
inline void parallel_for(ThreadPool* pool, int64_t n, Fn&& fn, int64_t min_chunk = 1) {
  if (pool == nullptr || pool->size() == 1 || n <= min_chunk) {
    if (n > 0) fn(int64_t(0), n);
  } else {
    pool->parallel_for(n, std::function<void(int64_t, int64_t)>(std::ref(fn)), min_chunk);
  }
}

}  // namespace edgekit
