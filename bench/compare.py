#!/usr/bin/env python3
"""edgekit against its peers, side by side in one run (DESIGN.md's benchmark protocol).

For every zoo model (ONNX, peer: ONNX Runtime) and float MLPerf Tiny model (TFLite, peer: the
TFLite interpreter from ai-edge-litert) and every thread count: the same input, warm-up, then
the median of --runs runs, each engine in a process of its own (so peak RSS is that engine's
alone), the engines alternating per model so machine noise falls on both alike. Prints one
markdown table with ratios edgekit/peer (< 1: edgekit is faster or smaller).

Each (model, threads) pair is measured in --rounds rounds (engines alternating inside each
round) and each engine's best round is kept: a burst of load from other tenants of a shared
machine then has to hit every round of one engine to bias the ratio.

With --int8, each zoo model is also quantized by `edgekit quantize --mode static` (per-channel
symmetric weights, QDQ ONNX; calibration: 64 standard-normal samples of the input's shape, seed
0) and that same QDQ file is run by edgekit and by ONNX Runtime side by side: the table gains
edgekit int8 ms, ORT int8 ms, edgekit int8/fp32 and edgekit/ORT on int8. Models the quantizer
refuses get no int8 figures (the reason goes to stderr).

usage: bench/compare.py [--build build] [--threads 1 2] [--runs 50] [--rounds 3] [--models NAME ...] [--int8] [--json FILE]
"""
import argparse
import json
import math
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
HERE = pathlib.Path(__file__).resolve().parent
MLPERF_FLOAT = ["ad01_fp32", "kws_ref_model_float32", "pretrainedResnet", "vww_96_float"]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def find_models(zoo, mlperf, only):
    models = []
    if zoo.is_dir():
        for d in sorted(zoo.iterdir()):
            if (d / "model.onnx").exists():
                models.append({"name": d.name, "path": d / "model.onnx", "input": d / "input_0.npy", "peer": "ort"})
    for n in MLPERF_FLOAT:
        p = mlperf / f"{n}.tflite"
        if p.exists():
            models.append({"name": n, "path": p, "input": None, "peer": "tflite"})
    return [m for m in models if not only or m["name"] in only]


def peer_available(peer):
    mod = {"ort": "onnxruntime", "tflite": "ai_edge_litert"}[peer]
    return subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True).returncode == 0


def run_json(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
    return json.loads(r.stdout)


def bench_edgekit(cli, m, threads, runs, warmup):
    cmd = [cli, "bench", str(m["path"]), "--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup), "--json"]
    if m["input"]:
        cmd += ["--input", str(m["input"])]
    j = run_json(cmd)
    return j["latency_ms"]["median"], j["peak_rss_mb"]


def bench_peer(m, threads, runs, warmup):
    cmd = [sys.executable, str(HERE / "peer_runner.py"), m["peer"], str(m["path"]), "--threads", str(threads),
           "--runs", str(runs), "--warmup", str(warmup)]
    if m["input"]:
        cmd += ["--input", str(m["input"])]
    j = run_json(cmd)
    return j["median_ms"], j["peak_rss_mb"]


def quantize_int8(cli, m, out_dir):
    """The model as static int8 QDQ ONNX from edgekit quantize, or None (reason on stderr)."""
    import numpy as np
    if m["peer"] != "ort" or not m["input"] or not pathlib.Path(m["input"]).exists():
        return None
    shape = np.load(m["input"]).shape
    calib = pathlib.Path(out_dir) / f"{m['name']}.calib.npz"
    np.savez(calib, np.random.default_rng(0).standard_normal((64,) + tuple(shape[1:])).astype(np.float32))
    out = pathlib.Path(out_dir) / f"{m['name']}.int8.onnx"
    r = subprocess.run([cli, "quantize", str(m["path"]), "-o", str(out), "--mode", "static", "--calibration", str(calib)],
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        print(f"no int8 for {m['name']}: {(r.stderr or r.stdout).strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return dict(m, path=out)


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--zoo", default=os.environ.get("EDGEKIT_ZOO_DIR", str(ROOT / "fixtures" / "zoo")))
    ap.add_argument("--mlperf", default=os.environ.get("EDGEKIT_MLPERF_DIR", str(ROOT.parent / "shared" / "models" / "mlperf-tiny")))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3, help="rounds per model; each engine's best median is kept")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--models", nargs="*")
    ap.add_argument("--quick", action="store_true", help="10 runs, 3 warm-ups")
    ap.add_argument("--int8", action="store_true",
                    help="also quantize each zoo model (static int8 QDQ) and time it in edgekit and ONNX Runtime")
    ap.add_argument("--json", help="also write the rows to this file")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.warmup, a.rounds = 10, 3, 1
    cli = pathlib.Path(a.build) / "edgekit"
    if not cli.exists():
        print(f"compare.py: error: {cli} is not built (run make build)", file=sys.stderr)
        return 1
    models = find_models(pathlib.Path(a.zoo), pathlib.Path(a.mlperf), a.models)
    if not models:
        print(f"compare.py: error: no models found in {a.zoo} or {a.mlperf}", file=sys.stderr)
        return 1
    have = {p: peer_available(p) for p in ("ort", "tflite")}
    rows = []
    tmp = tempfile.TemporaryDirectory(prefix="compare_int8_")
    int8 = {m["name"]: quantize_int8(str(cli), m, tmp.name) for m in models} if a.int8 else {}
    for i, m in enumerate(models):
        if not have[m["peer"]]:
            print(f"skip {m['name']}: peer {m['peer']} is not installed (make deps-peers)", file=sys.stderr)
            continue
        for t in a.threads:
            # Alternate which engine goes first so drift in machine load does not favour one.
            res = {}
            for rnd in range(max(1, a.rounds)):
                order = ["edgekit", "peer"] if (i + t + rnd) % 2 == 0 else ["peer", "edgekit"]
                for eng in order:
                    ms, rss = (bench_edgekit(str(cli), m, t, a.runs, a.warmup) if eng == "edgekit"
                               else bench_peer(m, t, a.runs, a.warmup))
                    best = res.get(eng)
                    res[eng] = (min(ms, best[0]), max(rss, best[1])) if best else (ms, rss)
            (ek_ms, ek_rss), (p_ms, p_rss) = res["edgekit"], res["peer"]
            row = {"model": m["name"], "peer": "onnxruntime" if m["peer"] == "ort" else "tflite", "threads": t,
                   "edgekit_ms": ek_ms, "peer_ms": p_ms, "ratio": ek_ms / p_ms,
                   "edgekit_rss_mb": ek_rss, "peer_rss_mb": p_rss}
            q = int8.get(m["name"])
            if q:
                qres = {}
                for rnd in range(max(1, a.rounds)):
                    order = ["edgekit", "peer"] if (i + t + rnd) % 2 == 0 else ["peer", "edgekit"]
                    for eng in order:
                        ms = (bench_edgekit(str(cli), q, t, a.runs, a.warmup) if eng == "edgekit"
                              else bench_peer(q, t, a.runs, a.warmup))[0]
                        qres[eng] = min(ms, qres.get(eng, ms))
                row.update(int8_edgekit_ms=qres["edgekit"], int8_peer_ms=qres["peer"],
                           int8_over_fp32=qres["edgekit"] / ek_ms, int8_ratio=qres["edgekit"] / qres["peer"])
            rows.append(row)
            print(f"  {m['name']:<24} {t}t  edgekit {ek_ms:8.3f} ms  {row['peer']} {p_ms:8.3f} ms  ratio {row['ratio']:.2f}"
                  + (f"  int8: edgekit {row['int8_edgekit_ms']:.3f} ms ORT {row['int8_peer_ms']:.3f} ms"
                     f" int8/fp32 {row['int8_over_fp32']:.2f} ek/ORT {row['int8_ratio']:.2f}" if q else ""),
                  file=sys.stderr, flush=True)
    print(f"# edgekit vs peers — {time.strftime('%Y-%m-%d')}, {cpu_model()}, {os.cpu_count()} cores\n")
    print(f"Median of {a.runs} runs after {a.warmup} warm-ups, best of {max(1, a.rounds)} alternating rounds per engine; "
          f"ratio = edgekit / peer (lower is better); RSS is the largest of the rounds.\n")
    q_head = " edgekit int8 ms | ORT int8 ms | int8/fp32 (edgekit) | edgekit/ORT int8 |" if a.int8 else ""
    print("| model | peer | threads | edgekit ms | peer ms | ratio | edgekit RSS MB | peer RSS MB |" + q_head)
    print("|---|---|---|---|---|---|---|---|" + "---|" * (4 if a.int8 else 0))
    for r in rows:
        q_cols = ""
        if a.int8:
            q_cols = (f" {r['int8_edgekit_ms']:.3f} | {r['int8_peer_ms']:.3f} | {r['int8_over_fp32']:.2f} | "
                      f"{r['int8_ratio']:.2f} |" if "int8_ratio" in r else " - | - | - | - |")
        print(f"| {r['model']} | {r['peer']} | {r['threads']} | {r['edgekit_ms']:.3f} | {r['peer_ms']:.3f} | "
              f"{r['ratio']:.2f} | {r['edgekit_rss_mb']:.1f} | {r['peer_rss_mb']:.1f} |" + q_cols)
    print()
    for t in a.threads:
        rs = [r["ratio"] for r in rows if r["threads"] == t]
        if rs:
            worst = max((r for r in rows if r["threads"] == t), key=lambda r: r["ratio"])
            print(f"- {t} thread(s): geometric mean ratio {geomean(rs):.2f}, worst {worst['ratio']:.2f} ({worst['model']})")
    peak_bin = pathlib.Path(a.build) / "peak_flops"
    if peak_bin.exists():
        peak = run_json([str(peak_bin), "--json"])["peak_gflops"]
        print(f"- fp32 peak of one core (bench/peak_flops.cpp): {peak:.1f} GFLOP/s")
        for r in rows:
            if r["threads"] == 1 and r["model"] == "resnet18":
                m = next(m for m in models if m["name"] == "resnet18")
                flops = run_json([str(cli), "inspect", str(m["path"]), "--json"])["flops"]
                for who, ms in (("edgekit", r["edgekit_ms"]), (r["peer"], r["peer_ms"])):
                    g = flops / (ms * 1e-3) * 1e-9
                    print(f"- resnet18, 1 thread, {who}: {g:.1f} GFLOP/s = {100 * g / peak:.0f}% of peak")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
