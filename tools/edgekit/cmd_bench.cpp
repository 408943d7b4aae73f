// edgekit bench MODEL: latency statistics and peak memory of repeated runs.
//
// Protocol: load, `warmup` untimed runs, then `runs` timed runs of Session::run on the same
// inputs; median, p90 (nearest rank), min, mean, max in ms; peak RSS of the process from
// getrusage (so it includes loading the model).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include "common.h"
#include "flops.h"
#include "runtime/session.h"

namespace edgekit::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model;
  std::vector<std::string> inputs;
  int threads = 1;
  int opt_level = 3;
  std::string profile;  // Chrome-trace JSON path; empty: no profiling
  int runs = 20;
  int warmup = 3;
  uint64_t seed = 0;
  bool json = false, no_verify = false;
};

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// The process's own peak RSS: VmHWM of /proc/self/status. getrusage's ru_maxrss is not used
// first because Linux carries it across exec, so a process started by a large parent (a
// Python benchmark harness) would report the parent's size.
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

// A one-line progress bar on stderr, drawn only on a terminal and only once the benchmark has
// taken over 2 s, so quick runs and pipes/CI logs stay clean.
class Progress {
 public:
  Progress(int total) : total_(total), tty_(isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}
  ~Progress() { clear(); }
  void update(int done, const char* phase) {
    if (!tty_ || ms_since(start_) < 2000 || ms_since(last_) < 100) return;
    last_ = Clock::now();
    constexpr int kWidth = 30;
    int filled = total_ ? done * kWidth / total_ : kWidth;
    double eta_s = done ? ms_since(start_) / 1000 * (total_ - done) / done : 0;
    std::cerr << "\r" << phase << " [" << std::string(size_t(filled), '#') << std::string(size_t(kWidth - filled), '.')
              << "] " << done << "/" << total_ << "  eta " << fixed(eta_s, 0) << " s\033[K" << std::flush;
    drawn_ = true;
  }
  void clear() {
    if (drawn_) std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }

 private:
  int total_;
  bool tty_;
  bool drawn_ = false;
  Clock::time_point start_, last_{};
};

struct Stats {
  double median, p90, min, mean, max, stddev;
};

Stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  Stats s{};
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.p90 = v[size_t(std::ceil(0.9 * double(n))) - 1];
  s.min = v.front();
  s.max = v.back();
  double sum = 0, sq = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(n);
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(sq / double(n));
  return s;
}

// Writes the profile as Chrome-trace JSON (chrome://tracing, Perfetto) and summarises time per
// op type with the achieved GFLOP/s (FLOPs from the static estimate of the optimised graph).
nlohmann::ordered_json write_profile(const Session& session, const std::string& path, int runs, std::ostream* out) {
  const Graph& g = session.graph();
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  struct OpTime {
    double ns = 0;
    int nodes = 0;
  };
  std::map<std::string, OpTime> by_op;
  double total_ns = 0;
  for (const ProfileEvent& e : session.profile()) {
    const Node& n = g.nodes[size_t(e.node)];
    events.push_back({{"name", n.name}, {"cat", n.op_type}, {"ph", "X"}, {"ts", double(e.start_ns) / 1000},
                      {"dur", double(e.duration_ns) / 1000}, {"pid", 1}, {"tid", 1}, {"args", {{"run", e.run}}}});
    by_op[op_key(n)].ns += double(e.duration_ns);
    total_ns += double(e.duration_ns);
  }
  for (const Node& n : g.nodes) by_op[op_key(n)].nodes++;
  {
    std::ofstream f(path);
    EK_CHECK(f.good(), path, ": cannot write the profile");
    f << nlohmann::ordered_json{{"traceEvents", events}, {"displayTimeUnit", "ms"}}.dump() << "\n";
    EK_CHECK(f.good(), path, ": write error");
  }
  FlopsEstimate flops = estimate_flops(g);
  std::vector<std::pair<std::string, OpTime>> ranked(by_op.begin(), by_op.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.second.ns > b.second.ns; });
  nlohmann::ordered_json ops = nlohmann::ordered_json::array();
  Table t{{"op", "nodes", "ms/run", "share", "GFLOP/s"}, {}, {false, true, true, true, true}};
  for (const auto& [op, time] : ranked) {
    double ms = time.ns / 1e6 / runs;
    auto it = flops.by_op.find(op);
    double gflops = it != flops.by_op.end() && time.ns > 0 ? it->second * runs / time.ns : 0;
    ops.push_back({{"op", op}, {"nodes", time.nodes}, {"ms_per_run", ms}, {"share", total_ns ? time.ns / total_ns : 0},
                   {"gflops", gflops}});
    t.rows.push_back({op, std::to_string(time.nodes), fixed(ms, 3), fixed(total_ns ? 100 * time.ns / total_ns : 0, 1) + "%",
                      gflops > 0 ? fixed(gflops, 1) : "-"});
  }
  if (out) {
    *out << "\nProfile (" << runs << " runs, trace in " << path << ")\n";
    t.print(*out);
  }
  return {{"trace", path}, {"ops", ops}};
}

void bench(const BenchOptions& o) {
  check_threads(o.threads);
  EK_CHECK(o.runs >= 1, "--runs must be at least 1, got ", o.runs);
  EK_CHECK(o.warmup >= 0, "--warmup must be 0 or more, got ", o.warmup);

  auto t0 = Clock::now();
  Session session(o.model, SessionOptions{.threads = o.threads, .opt_level = o.opt_level, .profile = !o.profile.empty(),
                                                .verify_hash = !o.no_verify});
  double load_ms = ms_since(t0);
  bool random = o.inputs.empty();
  std::map<std::string, Tensor> feeds = random ? random_inputs(session, o.seed) : load_inputs(session, o.inputs);

  std::vector<double> times;
  times.reserve(size_t(o.runs));
  {
    Progress progress(o.warmup + o.runs);
    for (int i = 0; i < o.warmup; ++i) {
      session.run(feeds);
      progress.update(i + 1, "warm-up");
    }
    session.clear_profile();  // profile the timed runs only
    for (int i = 0; i < o.runs; ++i) {
      auto t = Clock::now();
      session.run(feeds);
      times.push_back(ms_since(t));
      progress.update(o.warmup + i + 1, "bench  ");
    }
  }
  Stats s = summarize(times);
  double rss = peak_rss_mb();

  nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
  for (const auto& [name, t] : feeds)
    inputs.push_back({{"name", name}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}});
  if (o.json) {
    nlohmann::ordered_json j = {
        {"model", o.model},
        {"threads", o.threads},
        {"runs", o.runs},
        {"warmup", o.warmup},
        {"inputs", inputs},
        {"input_source", random ? "random" : "files"},
        {"load_ms", load_ms},
        {"latency_ms",
         {{"median", s.median}, {"p90", s.p90}, {"min", s.min}, {"mean", s.mean}, {"max", s.max}, {"stddev", s.stddev}}},
        {"throughput_per_s", 1000.0 / s.median},
        {"peak_rss_mb", rss},
    };
    if (random) j["seed"] = o.seed;
    j["opt_level"] = o.opt_level;
    if (!o.profile.empty()) j["profile"] = write_profile(session, o.profile, o.runs, nullptr);
    std::cout << j.dump(2) << "\n";
    return;
  }

  std::string in_text;
  for (const auto& [name, t] : feeds)
    in_text += (in_text.empty() ? "" : ", ") + name + " " + dtype_name(t.dtype()) + " " + shape_str(t.shape());
  in_text += random ? cat("  (random, seed ", o.seed, ")") : "  (from files)";
  Table head{{"Model", o.model}, {}, {}};
  head.rows = {{"Inputs", in_text},
               {"Threads", std::to_string(o.threads)},
               {"Runs", cat(o.runs, " (after ", o.warmup, " warm-up)")},
               {"Load", fixed(load_ms, 1) + " ms"},
               {"Throughput", fixed(1000.0 / s.median, 1) + " inferences/s (1 / median)"},
               {"Peak RSS", fixed(rss, 1) + " MB"}};
  head.print(std::cout, "");
  std::cout << "\nLatency (ms)\n";
  Table lat{{"median", "p90", "min", "mean", "max", "stddev"}, {}, {true, true, true, true, true, true}};
  lat.rows.push_back({fixed(s.median, 3), fixed(s.p90, 3), fixed(s.min, 3), fixed(s.mean, 3), fixed(s.max, 3),
                      fixed(s.stddev, 3)});
  lat.print(std::cout);
  if (!o.profile.empty()) write_profile(session, o.profile, o.runs, &std::cout);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure a model's latency (median, p90, min, mean) and peak memory");
  cmd->add_option("MODEL", o->model, "Model file (.onnx, .tflite or .ekm)")->required();
  add_input_option(cmd, o->inputs, /*required=*/false);
  add_threads_option(cmd, o->threads);
  add_opt_level_option(cmd, o->opt_level);
  add_no_verify_option(cmd, o->no_verify);
  cmd->add_option("--profile", o->profile,
                  "Write a Chrome-trace JSON of every node's time (chrome://tracing, Perfetto) and print the top ops");
  cmd->add_option("-n,--runs", o->runs, "Timed runs")->capture_default_str();
  cmd->add_option("-w,--warmup", o->warmup, "Untimed runs before timing")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the random inputs used without --input")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of tables");
  cmd->footer(
      "Without --input, inputs are random with the model's dtypes and shapes (dynamic dims as 1):\n"
      "floats uniform in [-1, 1), integers in [0, 4), booleans fair coin flips.\n"
      "Peak RSS is the process's maximum resident memory (getrusage), model loading included.\n"
      "A progress bar is shown on stderr when it is a terminal and the benchmark takes over 2 s.");
  cmd->callback([o] { bench(*o); });
}

}  // namespace edgekit::cli
