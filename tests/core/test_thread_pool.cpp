#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/thread_pool.h"

namespace edgekit {

TEST(ThreadPool, CoversRangeExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 7, 100, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPool, EachThreadRunsItsOwnRangeFirstThenTakesOthers) {
  // Pieces 0-3 are the caller's range, 4-7 the worker's. The worker's are slow: the caller runs
  // its own (contiguous, the same part of the data as in the loop before) and then takes what
  // the worker has not claimed yet. Every piece runs once.
  ThreadPool pool(2);
  ThreadPool::RunScope hot(&pool);
  std::vector<std::thread::id> ran(8);
  std::vector<std::atomic<int>> hits(8);
  pool.parallel_for(8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (i >= 4) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ran[size_t(i)] = std::this_thread::get_id();
      hits[size_t(i)]++;
    }
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(ran[size_t(i)], std::this_thread::get_id()) << "piece " << i;
  int by_caller = 0;
  for (const auto& id : ran) by_caller += id == std::this_thread::get_id();
  EXPECT_GE(by_caller, 5);  // it also took some of the slow range
}

TEST(ThreadPool, UsesAtMostItsThreads) {
  ThreadPool pool(3);
  std::mutex m;
  std::set<std::thread::id> ids;
  pool.parallel_for(1000, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> g(m);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_LE(ids.size(), 3u);
}

TEST(ThreadPool, RethrowsTaskErrors) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(10, [](int64_t b, int64_t) { if (b > 0) fail("boom"); }), Error);
  int64_t total = 0;  // still usable afterwards
  pool.parallel_for(10, [&](int64_t b, int64_t e) { if (b == 0) total = e; }, 10);
  EXPECT_EQ(total, 10);
}

TEST(ThreadPool, NestedCallRunsInline) {
  ThreadPool pool(2);
  std::atomic<int> count{0}, outer{0};
  pool.parallel_for(4, [&](int64_t b, int64_t e) {
    ++outer;
    pool.parallel_for(3, [&](int64_t b2, int64_t e2) { count += int(e2 - b2); });
  });
  EXPECT_GE(outer.load(), 2);
  EXPECT_EQ(count.load(), 3 * outer.load());  // each inner loop ran whole, inline
}

TEST(ThreadPool, RunScopesNestAndLoopsInsideStayExact) {
  ThreadPool::RunScope no_pool(nullptr);  // allowed: a Session without workers
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    ThreadPool::RunScope outer(&pool);
    for (int round = 0; round < 3; ++round) {
      ThreadPool::RunScope inner(&pool);
      std::vector<std::atomic<int>> hits(257);
      pool.parallel_for(257, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
  }
}

// Workers spin only while a RunScope lives and briefly after a loop: an idle pool sleeps.
TEST(ThreadPool, IdlePoolUsesNoCpuAfterItsRunScopeEnds) {
  auto cpu_ms = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
  };
  ThreadPool pool(3);
  {
    ThreadPool::RunScope scope(&pool);
    pool.parallel_for(100, [](int64_t, int64_t) {});
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the short spin
  const double before = cpu_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_LT(cpu_ms() - before, 40.0) << "workers kept spinning with no run in progress";
}

TEST(ThreadPool, RejectsZeroThreads) { EXPECT_THROW(ThreadPool(0), Error); }

}  // namespace edgekit
