#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace edgekit {

namespace {
thread_local bool in_pool_task = false;  // nested parallel_for runs inline instead of deadlocking

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until pred() or kSpinMicros pass; true when pred() held.
template <class Pred>
bool spin_until(Pred pred, int micros) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
  for (int i = 0;; ++i) {
    if (pred()) return true;
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return false;
    cpu_relax();
  }
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  EK_CHECK(threads >= 1, "thread count must be at least 1, got ", threads);
  ranges_ = std::make_unique<PieceRange[]>(size_t(threads));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

// Runs pieces of the posted loop until none is left to claim: thread `self`'s range, then
// the others' in turn.
void ThreadPool::run_pieces(const std::function<void(int64_t, int64_t)>& fn, int64_t chunk, int self) {
  const int threads = size();
  for (int k = 0; k < threads; ++k) {
    PieceRange& range = ranges_[size_t((self + k) % threads)];
    for (;;) {
      const int64_t i = range.next.fetch_add(chunk);
      if (i >= range.end) break;
      try {
        fn(i, std::min(range.end, i + chunk));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_chunk) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(min_chunk, 1);
  // A few pieces per thread: whoever is free takes the next one, so a worker that is asleep
  // or preempted delays nothing (the caller does its share), and uneven pieces even out.
  const int64_t pieces = std::min<int64_t>((n + min_chunk - 1) / min_chunk, int64_t(size()) * kPiecesPerThread);
  if (pieces <= 1 || in_pool_task) {
    fn(0, n);
    return;
  }
  const int64_t chunk = (n + pieces - 1) / pieces;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &fn;
    chunk_ = chunk;
    // Thread t's range: items [n t / T, n (t + 1) / T), claimed `chunk` at a time.
    const int threads = size();
    for (int t = 0; t < threads; ++t) {
      ranges_[size_t(t)].next.store(n * t / threads);
      ranges_[size_t(t)].end = n * (t + 1) / threads;
    }
    error_ = nullptr;
    open_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  in_pool_task = true;
  run_pieces(fn, chunk, 0);
  in_pool_task = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;  // no worker joins from here on; wait for those inside
  }
  spin_until([&] { return active_.load() == 0; }, kSpinMicros);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return active_.load() == 0; });
  task_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

ThreadPool::RunScope::RunScope(ThreadPool* pool) : pool_(pool && pool->size() > 1 ? pool : nullptr) {
  if (pool_ == nullptr) return;
  std::lock_guard<std::mutex> lock(pool_->mutex_);  // a worker between its check and its wait sees it
  if (pool_->hot_.fetch_add(1) == 0) pool_->wake_.notify_all();
}

ThreadPool::RunScope::~RunScope() {
  if (pool_ != nullptr) pool_->hot_.fetch_sub(1);
}

void ThreadPool::worker_loop(int self) {
  uint64_t seen = 0;
  for (;;) {
    auto posted = [&] { return stop_.load() || generation_.load() != seen; };
    while (!spin_until(posted, kSpinMicros) && hot_.load() > 0) {
    }
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return posted() || hot_.load() > 0; });
    if (!posted()) continue;  // a run started: spin for its loops
    if (stop_) return;
    seen = generation_.load();
    if (!open_) continue;  // woke after the caller finished that loop alone
    active_.fetch_add(1);
    const auto* fn = task_;
    const int64_t chunk = chunk_;
    lock.unlock();
    in_pool_task = true;
    run_pieces(*fn, chunk, self);
    in_pool_task = false;
    lock.lock();
    if (active_.fetch_sub(1) == 1) done_.notify_one();
  }
}

}  // namespace edgekit
