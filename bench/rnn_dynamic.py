#!/usr/bin/env python3
"""Recurrent models in dynamic int8 against float, edgekit and ONNX Runtime side by side.

For each model (default: the zoo's gru_kws and lstm_kws) the float ONNX and its
`edgekit quantize --mode dynamic` file (int8 W and R behind DequantizeLinear; edgekit runs them
as com.edgekit:DynamicQGRU/DynamicQLSTM, ORT dequantizes and runs its float GRU/LSTM) are timed
in one process, one thread each, on the same input: four engines (edgekit fp32, edgekit dynamic,
ORT fp32, ORT dynamic, and ORT on its own quantizer's output: onnxruntime.quantization's
quantize_dynamic, int8 weights, which makes an LSTM com.microsoft:DynamicQuantizeLSTM, ORT's int8
recurrent kernel, and leaves a GRU float) alternating within each round, warm-up, then the median of --runs calls
of run(); each engine's best round is kept. Every engine is timed through its Python binding, so
the per-call overhead falls on all alike. edgekit's two are also timed by `edgekit bench` (C++,
no Python call in the loop; same runs and rounds), which shows the kernels' own ratio. Also
prints the file sizes (ONNX, and the .ekm that `--format ekm` writes).

usage: sudo chrt -f 50 python3 bench/rnn_dynamic.py [--build build] [--zoo fixtures/zoo] [--runs 300] [--rounds 3]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def median_ms(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def edgekit_bench_ms(cli, model, runs, warmup):
    r = subprocess.run([cli, "bench", str(model), "--threads", "1", "--runs", str(runs), "--warmup", str(warmup), "--json"],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout)["latency_ms"]["median"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--zoo", default=os.environ.get("EDGEKIT_ZOO_DIR", str(ROOT / "fixtures" / "zoo")))
    ap.add_argument("--models", nargs="*", default=["gru_kws", "lstm_kws"])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-channel", action="store_true", help="quantize with --per-channel")
    a = ap.parse_args()
    sys.path.insert(0, str(pathlib.Path(a.build) / "python"))
    import edgekit
    import onnxruntime as ort

    cli = str(pathlib.Path(a.build) / "edgekit")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models:
            fp32 = pathlib.Path(a.zoo) / name / "model.onnx"
            x = np.load(pathlib.Path(a.zoo) / name / "input_0.npy").astype(np.float32)
            dyn, ekm, fp32_ekm = (pathlib.Path(tmp) / f"{name}.{s}" for s in ("dyn.onnx", "dyn.ekm", "fp32.ekm"))
            pc = ["--per-channel"] if a.per_channel else []
            for out, fmt in ((dyn, "onnx"), (ekm, "ekm")):
                subprocess.run([cli, "quantize", str(fp32), "-o", str(out), "--mode", "dynamic", "--format", fmt, *pc],
                               check=True, capture_output=True)
            subprocess.run([cli, "compile", str(fp32), "-o", str(fp32_ekm)], check=True, capture_output=True)
            from onnxruntime.quantization import QuantType, quantize_dynamic
            ortq = pathlib.Path(tmp) / f"{name}.ortq.onnx"
            quantize_dynamic(str(fp32), str(ortq), weight_type=QuantType.QInt8)
            feed = {"input": x}
            engines = {
                "edgekit fp32": edgekit.Session(str(fp32), threads=1),
                "edgekit dyn": edgekit.Session(str(dyn), threads=1),
                "ORT fp32": ort.InferenceSession(str(fp32), so, providers=["CPUExecutionProvider"]),
                "ORT dyn": ort.InferenceSession(str(dyn), so, providers=["CPUExecutionProvider"]),
                "ORT own q": ort.InferenceSession(str(ortq), so, providers=["CPUExecutionProvider"]),
            }
            calls = {k: (lambda s=s: s.run(feed)) if k.startswith("edgekit") else (lambda s=s: s.run(None, feed))
                     for k, s in engines.items()}
            best = {k: float("inf") for k in calls}
            best["cli fp32"] = best["cli dyn"] = float("inf")
            for r in range(a.rounds):
                order = list(calls) if r % 2 == 0 else list(reversed(calls))
                for k in order:
                    best[k] = min(best[k], median_ms(calls[k], a.runs, a.warmup))
                for k, path in (("cli fp32", fp32), ("cli dyn", dyn)):
                    best[k] = min(best[k], edgekit_bench_ms(cli, path, a.runs, a.warmup))
            got = calls["edgekit dyn"]()[0]
            ref = calls["ORT fp32"]()[0]
            rows.append((name, best, {"fp32.onnx": fp32.stat().st_size, "dyn.onnx": dyn.stat().st_size,
                                      "fp32.ekm": fp32_ekm.stat().st_size, "dyn.ekm": ekm.stat().st_size},
                         float(np.abs(got - ref).max() / np.abs(ref).max())))
    print(f"1 thread, median of {a.runs} runs, best of {a.rounds} rounds{' (per-channel)' if a.per_channel else ''}\n")
    print("| model | edgekit fp32 | edgekit dyn | ORT fp32 | ORT dyn | ORT own quantizer | dyn / fp32 (edgekit) "
          "| edgekit / ORT (dyn file) | edgekit dyn / ORT own quantizer | |err| / max|ref| |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, b, _, err in rows:
        print(f"| {name} | {b['edgekit fp32']:.4f} ms | {b['edgekit dyn']:.4f} ms | {b['ORT fp32']:.4f} ms | "
              f"{b['ORT dyn']:.4f} ms | {b['ORT own q']:.4f} ms | {b['edgekit dyn'] / b['edgekit fp32']:.2f}x | "
              f"{b['edgekit dyn'] / b['ORT dyn']:.2f}x | {b['edgekit dyn'] / b['ORT own q']:.2f}x | {err:.4f} |")
    print("\n`edgekit bench` (C++ loop)\n")
    print("| model | edgekit fp32 | edgekit dyn | dyn / fp32 |")
    print("|---|---|---|---|")
    for name, b, _, _ in rows:
        print(f"| {name} | {b['cli fp32']:.4f} ms | {b['cli dyn']:.4f} ms | {b['cli dyn'] / b['cli fp32']:.2f}x |")
    print("\n| model | fp32 ONNX | dyn ONNX | fp32 .ekm | dyn .ekm |")
    print("|---|---|---|---|---|")
    for name, _, s, _ in rows:
        print(f"| {name} | {s['fp32.onnx']:,} | {s['dyn.onnx']:,} | {s['fp32.ekm']:,} | {s['dyn.ekm']:,} |")


if __name__ == "__main__":
    main()
