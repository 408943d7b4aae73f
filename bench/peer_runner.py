#!/usr/bin/env python3
"""Times one model in a peer runtime, in a process of its own so its peak RSS is its own.

usage: peer_runner.py {ort,tflite} MODEL --threads N --runs R --warmup W [--input FILE.npy] [--seed S]
Prints one JSON object: {"engine", "median_ms", "p90_ms", "min_ms", "peak_rss_mb", "runs", "threads"}.
"""
import argparse
import json
import resource
import sys
import time

import numpy as np



def peak_rss_mb():
    """This process's peak RSS (VmHWM); ru_maxrss survives exec, so it can report the parent's."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

def random_input(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = [int(d) if isinstance(d, (int, np.integer)) and int(d) > 0 else 1 for d in shape]
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-8, 8, size=shape).astype(dtype)


def ort_runner(model, threads, inp, seed):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    i0 = s.get_inputs()[0]
    types = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8}
    x = np.load(inp) if inp else random_input(i0.shape, types.get(i0.type, np.float32), seed)
    feed = {i0.name: x}
    return lambda: s.run(None, feed)


def tflite_runner(model, threads, inp, seed):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=model, num_threads=threads)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = np.load(inp) if inp else random_input(list(d["shape"]), d["dtype"], seed)
    def run():
        it.set_tensor(d["index"], x)
        it.invoke()
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("engine", choices=["ort", "tflite"])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--input")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    run = (ort_runner if a.engine == "ort" else tflite_runner)(a.model, a.threads, a.input, a.seed)
    for _ in range(a.warmup):
        run()
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"engine": a.engine, "median_ms": float(np.median(times)),
                      "p90_ms": times[min(len(times) - 1, int(0.9 * len(times)))], "min_ms": times[0],
                      "peak_rss_mb": peak_rss_mb(),
                      "runs": a.runs, "threads": a.threads}))


if __name__ == "__main__":
    sys.exit(main())
