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

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_chunk) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(min_chunk, 1);
  int chunks = int(std::min<int64_t>(size(), (n + min_chunk - 1) / min_chunk));
  if (chunks <= 1 || in_pool_task) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &fn;
    task_n_ = n;
    chunks_ = chunks;
    chunk_ = (n + chunks - 1) / chunks;
    pending_.store(chunks - 1);  // chunk 0 is the caller's
    error_ = nullptr;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  in_pool_task = true;
  try {
    fn(0, std::min(chunk_, n));
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
  in_pool_task = false;
  spin_until([&] { return pending_.load() == 0; }, kSpinMicros);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_.load() == 0; });
  task_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    spin_until([&] { return stop_.load() || generation_.load() != seen; }, kSpinMicros);
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
    if (stop_) return;
    seen = generation_.load();
    if (index >= chunks_) continue;  // this loop has fewer chunks than workers
    const auto* fn = task_;
    int64_t begin = int64_t(index) * chunk_, end = std::min(task_n_, begin + chunk_);
    lock.unlock();
    in_pool_task = true;
    try {
      if (begin < end) (*fn)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> g(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    in_pool_task = false;
    lock.lock();
    if (pending_.fetch_sub(1) == 1) done_.notify_one();
  }
}

}  // namespace edgekit
