#!/usr/bin/env python3
"""Size of the device runtime and load time of compiled models (make size).

Sizes: libedgekit_rt.so and the minimal static program edgekit-rt-minimal, each stripped, and
whether the library depends on protobuf or the ONNX library (it must not).

Load time, for each zoo model, measured side by side in this one process: edgekit opening the
compiled .ekm and running once, edgekit importing the ONNX file and running once, and ONNX
Runtime creating its session (default options, all graph optimisations) and running once.
Each is repeated --repeats times, alternating, and the median is reported.

  python3 bench/size.py --build build --zoo fixtures/zoo [--models kws_dscnn resnet18] [--repeats 15]
      [--selective-build build-rt]   (make runtime-selective; reported when it exists)
"""
import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def stripped_size(path):
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / path.name
        shutil.copy(path, copy)
        subprocess.run(["strip", "--strip-unneeded", str(copy)], check=True)
        return copy.stat().st_size


def needed_libraries(path):
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def feeds_for(folder, names):
    return {name: np.load(folder / f"input_{i}.npy") for i, name in enumerate(names)}


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=pathlib.Path, default=ROOT / "build")
    ap.add_argument("--zoo", type=pathlib.Path, default=ROOT / "fixtures" / "zoo")
    ap.add_argument("--models", nargs="*", help="zoo model names (default: all)")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--selective-build", type=pathlib.Path, default=ROOT / "build-rt",
                    help="a selective runtime's build (make runtime-selective), reported when present")
    args = ap.parse_args()

    lib, minimal = args.build / "src" / "runtime" / "libedgekit_rt.so", args.build / "edgekit-rt-minimal"
    for p in (lib, minimal):
        if not p.exists():
            sys.exit(f"size: {p} is missing (make build)")
    needed = needed_libraries(lib)
    heavy = [n for n in needed if "protobuf" in n or "onnx" in n]
    print(f"libedgekit_rt.so        {stripped_size(lib) / 1e6:6.2f} MB stripped (target <= 1.5 MB)")
    print(f"edgekit-rt-minimal      {stripped_size(minimal) / 1e6:6.2f} MB stripped "
          f"(libedgekit_rt.a, libstdc++ and libgcc static)")
    print(f"libedgekit_rt.so needs  {', '.join(needed)}")
    if heavy:
        sys.exit(f"size: libedgekit_rt.so links {heavy}: the device runtime must not")
    sel_lib = args.selective_build / "src" / "runtime" / "libedgekit_rt.so"
    sel_min = args.selective_build / "edgekit-rt-minimal"
    if sel_lib.exists() and sel_min.exists():
        ops_file = args.selective_build / "ops.txt"
        ops = [l for l in ops_file.read_text().splitlines() if l and not l.startswith("#")] if ops_file.exists() else []
        print(f"selective build ({args.selective_build}: {len(ops)} ops, one ISA, no graph optimiser):")
        print(f"  libedgekit_rt.so      {stripped_size(sel_lib) / 1e6:6.2f} MB stripped")
        print(f"  edgekit-rt-minimal    {stripped_size(sel_min) / 1e6:6.2f} MB stripped")

    sys.path.insert(0, str(args.build / "python"))
    import edgekit
    try:
        import onnxruntime as ort
    except ImportError:
        print("\nload time: onnxruntime is not installed (make deps-peers); skipped")
        return
    folders = sorted(p.parent for p in args.zoo.glob("*/model.onnx"))
    if args.models:
        folders = [f for f in folders if f.name in args.models]
    if not folders:
        sys.exit(f"size: no zoo models under {args.zoo} (make fixtures)")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    print(f"\nLoad + first inference, 1 thread, median of {args.repeats} (ms); 'unverified': the .ekm"
          " loaded without its SHA-256 check (Session(verify=False), edgekit run --no-verify)")
    print(f"{'model':<22}{'.ekm':>9}{'unverified':>12}{'ONNX in edgekit':>17}{'ORT':>9}{'.ekm/ORT':>10}"
          f"{'unverified/ORT':>16}")
    ratios, unverified_ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for folder in folders:
            onnx_path = folder / "model.onnx"
            ekm_path = pathlib.Path(tmp) / f"{folder.name}.ekm"
            r = subprocess.run([str(args.build / "edgekit"), "compile", str(onnx_path), "-o", str(ekm_path)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{folder.name:<22} compile failed: {r.stderr.strip()}")
                continue
            names = [i.name for i in edgekit.Session(str(ekm_path)).inputs]
            feeds = feeds_for(folder, names)
            ort_names = [i.name for i in ort.InferenceSession(str(onnx_path), opts).get_inputs()]
            ort_feeds = feeds_for(folder, ort_names)
            times = {"ekm": [], "unverified": [], "onnx": [], "ort": []}
            for _ in range(args.repeats):
                times["ekm"].append(timed(lambda: edgekit.Session(str(ekm_path)).run(feeds)))
                times["unverified"].append(timed(lambda: edgekit.Session(str(ekm_path), verify=False).run(feeds)))
                times["onnx"].append(timed(lambda: edgekit.Session(str(onnx_path)).run(feeds)))
                times["ort"].append(timed(lambda: ort.InferenceSession(str(onnx_path), opts).run(None, ort_feeds)))
            med = {k: statistics.median(v) for k, v in times.items()}
            ratios.append(med["ekm"] / med["ort"])
            unverified_ratios.append(med["unverified"] / med["ort"])
            print(f"{folder.name:<22}{med['ekm']:9.2f}{med['unverified']:12.2f}{med['onnx']:17.2f}{med['ort']:9.2f}"
                  f"{ratios[-1]:10.3f}{unverified_ratios[-1]:16.3f}")
    if ratios:
        geo = lambda r: float(np.exp(np.mean(np.log(r))))
        print(f"{'geomean':<69}{geo(ratios):10.3f}{geo(unverified_ratios):16.3f}   (target <= 0.2)")


if __name__ == "__main__":
    main()
