#!/usr/bin/env python3
"""Fashion-MNIST top-1 accuracy of edgekit's quantizer against ONNX Runtime's and PyTorch's.

One run, one trained model (scripts/train_fashion_cnn.py's output folder), the same 500
calibration images for every static quantizer, the test images of that folder:

  edgekit fp32 / static int8 (QDQ, per-channel, MinMax; its defaults, then with --int8-outputs,
      --no-bias-correction and both) / dynamic int8 / fp16, quantized by `edgekit quantize` and
      run by edgekit's Python package (fused int8 kernels);
  ONNX Runtime fp32, quantize_static (QDQ, per-channel, MinMax) and quantize_dynamic;
  PyTorch fp32 and eager-mode static quantization (QuantStub/DeQuantStub, Conv+BN+ReLU and
      Linear+ReLU fused) on the onednn and qnnpack engines.

It also compares ONNX Runtime and edgekit on edgekit's static QDQ file: the fraction of output
logits within one quantization step (the scale of the final DequantizeLinear in the
--int8-outputs file; by default the logits are float, held to the same step).

PyTorch and ONNX Runtime often live in different interpreters (Debian's python3-torch under
/usr/bin/python3, onnxruntime from pip): run this with the one that has onnxruntime and edgekit's
build; the PyTorch part runs in-process when torch imports, else under --torch-python.

usage: quant_accuracy.py DATA [--build build] [--work DIR] [--limit N] [--quick] [--calibration NPZ] [--json FILE]
"""
import argparse
import datetime
import importlib.util
import json
import logging
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
THREADS = 2

# Targets from the quantization issue.
TARGETS = {"static_drop": 0.3, "dynamic_drop": 0.2, "int8_size": 0.27, "fp16_size": 0.51, "agreement": 0.999}


def fail(msg):
    sys.exit(f"quant_accuracy: {msg}")


def accuracy(logits, labels):
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def summary(logits, labels, ref):
    """Top-1 accuracy; predictions that differ from the same engine's fp32 (`ref` logits); images
    whose two largest logits are equal (argmax then takes the lower class: int8 outputs tie)."""
    top2 = np.sort(logits, axis=1)[:, -2:]
    return {"accuracy": accuracy(logits, labels), "changed": int(np.sum(logits.argmax(1) != ref.argmax(1))),
            "ties": int(np.sum(top2[:, 0] == top2[:, 1]))}


def batched(run, x, batch):
    return np.concatenate([run(x[i:i + batch]) for i in range(0, len(x), batch)])


def calibration_batches(calib, batch=32):
    return [calib[i:i + batch] for i in range(0, len(calib), batch)]


# ---------------------------------------------------------------- PyTorch (own interpreter)

def torch_part(data, limit, threads, quick=False, calibration=None):
    """fp32 and eager-mode static int8 accuracy of the trained model in PyTorch, as a dict."""
    import torch
    import torch.ao.quantization as tq
    import torch.nn as nn

    sys.path.insert(0, str(ROOT / "scripts"))
    import train_fashion_cnn  # noqa: E402  (the zoo's architecture, loaded by path)

    torch.set_num_threads(threads)
    make, _ = train_fashion_cnn.load_zoo().ZOO["fashion_cnn"]
    x, y = load_test(data, limit)
    calib = np.load(calibration or data / "calib.npz")["input"]

    def fresh():
        m = make()
        m.load_state_dict(torch.load(data / "model.pt"))
        return m.eval()

    def logits(m):
        with torch.no_grad():
            return batched(lambda b: m(torch.from_numpy(b)).numpy(), x, 500)

    class Quantizable(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.quant, self.f, self.dequant = tq.QuantStub(), m.f, tq.DeQuantStub()

        def forward(self, t):
            return self.dequant(self.f(self.quant(t)))

    minmax = tq.QConfig(activation=tq.MinMaxObserver.with_args(dtype=torch.quint8),
                        weight=tq.PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                                     qscheme=torch.per_channel_symmetric))
    variants = [("onednn", "default", None), ("qnnpack", "default", None), ("onednn", "minmax", minmax)]
    if quick:  # the histogram observers of the default qconfigs are the slow part
        variants = variants[2:]
    ref = logits(fresh())
    rows = {"fp32": summary(ref, y, ref), "static": [], "version": torch.__version__}
    for engine, name, qconfig in variants:
        if engine not in torch.backends.quantized.supported_engines:
            rows["static"].append({"engine": engine, "qconfig": name, "skipped": "engine not built"})
            continue
        torch.backends.quantized.engine = engine
        m = Quantizable(fresh())
        # f: Conv BN ReLU MaxPool Conv BN ReLU MaxPool Flatten Linear ReLU Linear
        tq.fuse_modules(m, [["f.0", "f.1", "f.2"], ["f.4", "f.5", "f.6"], ["f.9", "f.10"]], inplace=True)
        m.qconfig = qconfig or tq.get_default_qconfig(engine)
        desc = (f"{type(m.qconfig.activation()).__name__} activations, "
                f"{'per-channel' if 'channel' in str(m.qconfig.weight().qscheme) else 'per-tensor'} weights")
        tq.prepare(m, inplace=True)
        with torch.no_grad():
            for b in calibration_batches(calib):
                m(torch.from_numpy(b))
        tq.convert(m, inplace=True)
        rows["static"].append({"engine": engine, "qconfig": name, "describe": desc, **summary(logits(m), y, ref)})
    return rows


def run_torch_part(args):
    if importlib.util.find_spec("torch") is not None:
        return torch_part(args.data, args.limit, args.threads, args.quick, args.calibration)
    py = args.torch_python
    if not py or not pathlib.Path(py).exists():
        return {"skipped": "torch is not importable here and --torch-python is not set"}
    cmd = [py, str(pathlib.Path(__file__).resolve()), str(args.data), "--torch-only", "--threads", str(args.threads)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    if args.quick:
        cmd.append("--quick")
    if args.calibration:
        cmd += ["--calibration", str(args.calibration)]
    # PyTorch never loads edgekit: no sanitizer runtime preloaded for it (make test-asan sets one).
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        fail(f"the PyTorch part ({py}) failed:\n{r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- edgekit and ONNX Runtime

def load_test(data, limit):
    if not (data / "test_x.npy").exists():
        fail(f"{data / 'test_x.npy'} not found (run scripts/train_fashion_cnn.py {data} first)")
    x, y = np.load(data / "test_x.npy"), np.load(data / "test_y.npy")
    return (x[:limit], y[:limit]) if limit else (x, y)


def edgekit_quantize(cli, model, out, *args):
    r = subprocess.run([str(cli), "quantize", str(model), "-o", str(out), *args, "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"edgekit quantize {' '.join(args)} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


class CalibReader:
    """onnxruntime.quantization.CalibrationDataReader over the same 500 images, in batches of 32."""

    def __init__(self, calib):
        self.batches = iter(calibration_batches(calib))

    def get_next(self):
        b = next(self.batches, None)
        return None if b is None else {"input": b}

    def rewind(self):  # not used by MinMax; part of the interface in newer ORT
        pass


def output_step(path):
    """Scale of the DequantizeLinear (or QuantizeLinear) that writes the graph's first output."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(path))
    out = m.graph.output[0].name
    inits = {i.name: i for i in m.graph.initializer}
    for n in m.graph.node:
        if out in n.output and n.op_type in ("DequantizeLinear", "QuantizeLinear") and n.input[1] in inits:
            return float(numpy_helper.to_array(inits[n.input[1]]).reshape(-1)[0])
    fail(f"{path}: output '{out}' is not written by a DequantizeLinear with a constant scale")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=pathlib.Path, help="train_fashion_cnn.py's output folder")
    ap.add_argument("--build", type=pathlib.Path, default=ROOT / "build")
    ap.add_argument("--work", type=pathlib.Path, help="keep the quantized models here (default: a temp folder)")
    ap.add_argument("--limit", type=int, default=0, help="evaluate on the first N test images (0: all)")
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--torch-python", default="/usr/bin/python3",
                    help="interpreter with torch, when this one has none (default /usr/bin/python3)")
    ap.add_argument("--quick", action="store_true", help="PyTorch: only the MinMax per-channel qconfig (for tests)")
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--calibration", type=pathlib.Path,
                    help="calibration images for every static quantizer (default DATA/calib.npz; e.g. "
                         "DATA/calib_seed1.npz from train_fashion_cnn.py --calibration-seeds)")
    ap.add_argument("--json", help="also write the results to this file ('-': print only JSON)")
    args = ap.parse_args()
    args.data = args.data.resolve()
    if args.torch_only:
        print(json.dumps(torch_part(args.data, args.limit, args.threads, args.quick, args.calibration)))
        return 0

    model, calib_path = args.data / "model.onnx", (args.calibration or args.data / "calib.npz").resolve()
    for p in (model, calib_path):
        if not p.exists():
            fail(f"{p} not found (run scripts/train_fashion_cnn.py {args.data} first)")
    cli = args.build / "edgekit"
    if not cli.exists():
        fail(f"{cli} not found (make build)")
    sys.path.insert(0, str(args.build / "python"))
    try:
        import edgekit
        import onnxruntime as ort
        from onnxruntime import quantization as oq
    except ImportError as e:
        fail(f"{e} (edgekit: make build; onnxruntime: make deps-peers)")

    t0 = time.time()
    x, y = load_test(args.data, args.limit)
    calib = np.load(calib_path)["input"]
    tmp = None
    if args.work:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="quant_study_")
        work = pathlib.Path(tmp.name)
    # static: the defaults (float logits, bias correction); then each of the two turned off, and
    # both (the quantizer before them).
    variants = {"static_int8_out": ["--int8-outputs"], "static_no_bc": ["--no-bias-correction"],
                "static_plain": ["--int8-outputs", "--no-bias-correction"]}
    files = {"fp32": model, "static": work / "edgekit_static.onnx",
             **{k: work / f"edgekit_{k}.onnx" for k in variants}, "dynamic": work / "edgekit_dynamic.onnx",
             "fp16": work / "edgekit_fp16.onnx", "ort_static": work / "ort_static.onnx",
             "ort_dynamic": work / "ort_dynamic.onnx"}
    th = ["--threads", str(args.threads)]
    edgekit_quantize(cli, model, files["static"], "--mode", "static", "--calibration", str(calib_path), *th)
    for k, flags in variants.items():
        edgekit_quantize(cli, model, files[k], "--mode", "static", "--calibration", str(calib_path), *flags, *th)
    edgekit_quantize(cli, model, files["dynamic"], "--mode", "dynamic", *th)
    edgekit_quantize(cli, model, files["fp16"], "--mode", "fp16", *th)
    logging.getLogger().setLevel(logging.ERROR)  # ORT's "consider pre-processing" advice on every run
    oq.quantize_static(str(model), str(files["ort_static"]), CalibReader(calib), quant_format=oq.QuantFormat.QDQ,
                       per_channel=True, activation_type=oq.QuantType.QInt8, weight_type=oq.QuantType.QInt8,
                       calibrate_method=oq.CalibrationMethod.MinMax)
    # The same ops as edgekit's dynamic mode (Gemm/MatMul); ORT's CPU ConvInteger wants u8 weights.
    oq.quantize_dynamic(str(model), str(files["ort_dynamic"]), weight_type=oq.QuantType.QInt8,
                        op_types_to_quantize=["MatMul", "Gemm"])

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads

    def ek_logits(path):
        s = edgekit.Session(str(path), threads=args.threads)
        return batched(lambda b: s.run({"input": b})[0], x, 500)

    def ort_logits(path):
        s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        return batched(lambda b: s.run(None, {"input": b})[0], x, 500)

    logits = {k: ek_logits(files[k]) for k in ("fp32", "static", *variants, "dynamic", "fp16")}
    ort_fp32, ort_on_ours = ort_logits(model), ort_logits(files["static"])
    ort_on_int8_out = ort_logits(files["static_int8_out"])
    ort_static, ort_dynamic = ort_logits(files["ort_static"]), ort_logits(files["ort_dynamic"])
    # The step of the logits as int8 (--int8-outputs: the same calibrated range); the default's
    # float logits are held to it too.
    step = output_step(files["static_int8_out"])
    within = float(np.mean(np.abs(logits["static"] - ort_on_ours) <= step * 1.001))
    within_int8_out = float(np.mean(np.abs(logits["static_int8_out"] - ort_on_int8_out) <= step * 1.001))
    torch_rows = run_torch_part(args)

    size = {k: p.stat().st_size for k, p in files.items()}
    ref = logits["fp32"]
    rows = [  # name, summary, file
        ("edgekit fp32", summary(ref, y, ref), "fp32"),
        ("edgekit static int8 (QDQ, per-channel, MinMax; defaults: float logits, bias correction)",
         summary(logits["static"], y, ref), "static"),
        ("edgekit static int8, int8 logits (--int8-outputs)", summary(logits["static_int8_out"], y, ref),
         "static_int8_out"),
        ("edgekit static int8, no bias correction (--no-bias-correction)", summary(logits["static_no_bc"], y, ref),
         "static_no_bc"),
        ("edgekit static int8, both off (--int8-outputs --no-bias-correction: before 2026-12-03)",
         summary(logits["static_plain"], y, ref), "static_plain"),
        ("edgekit dynamic int8 (Gemm weights, per-tensor)", summary(logits["dynamic"], y, ref), "dynamic"),
        ("edgekit fp16 weights", summary(logits["fp16"], y, ref), "fp16"),
        ("ORT fp32", summary(ort_fp32, y, ort_fp32), "fp32"),
        ("ORT quantize_static (QDQ, per-channel, MinMax)", summary(ort_static, y, ort_fp32), "ort_static"),
        ("ORT quantize_dynamic (Gemm/MatMul, int8)", summary(ort_dynamic, y, ort_fp32), "ort_dynamic"),
        ("ORT running edgekit's static QDQ file", summary(ort_on_ours, y, ort_fp32), "static"),
        ("ORT running edgekit's static QDQ file, int8 logits", summary(ort_on_int8_out, y, ort_fp32), "static_int8_out"),
    ]
    if "skipped" in torch_rows:
        rows.append((f"PyTorch: skipped ({torch_rows['skipped']})", None, None))
    else:
        rows.append(("PyTorch fp32", torch_rows["fp32"], None))
        for r in torch_rows["static"]:
            label = f"PyTorch eager static, {r['engine']}, {r['qconfig']} qconfig"
            if "skipped" in r:
                rows.append((f"{label}: skipped ({r['skipped']})", None, None))
            else:
                rows.append((f"{label} ({r['describe']})", r, None))

    fp32 = rows[0][1]["accuracy"]
    static, dynamic = accuracy(logits["static"], y), accuracy(logits["dynamic"], y)
    peers = [accuracy(ort_static, y)] + [r["accuracy"] for r in torch_rows.get("static", []) if "accuracy" in r]
    checks = [
        ("static int8 drop vs fp32 <= 0.3 points", (fp32 - static) * 100, (fp32 - static) * 100 <= TARGETS["static_drop"] + 1e-9),
        ("static int8 >= ORT quantize_static and every PyTorch static", (static - max(peers)) * 100,
         static >= max(peers) - 1e-12),
        ("dynamic int8 drop vs fp32 <= 0.2 points", (fp32 - dynamic) * 100, (fp32 - dynamic) * 100 <= TARGETS["dynamic_drop"] + 1e-9),
        ("int8 file <= 0.27x fp32", size["static"] / size["fp32"], size["static"] / size["fp32"] <= TARGETS["int8_size"]),
        ("fp16 file <= 0.51x fp32", size["fp16"] / size["fp32"], size["fp16"] / size["fp32"] <= TARGETS["fp16_size"]),
        ("edgekit int8 vs ORT on the same QDQ file: logits within 1 step >= 99.9%", within * 100,
         within >= TARGETS["agreement"]),
        ("the same, int8 logits (--int8-outputs)", within_int8_out * 100, within_int8_out >= TARGETS["agreement"]),
    ]
    result = {
        "date": datetime.date.today().isoformat(), "data": str(args.data), "test_images": len(y),
        "calibration_images": len(calib), "calibration": str(calib_path), "threads": args.threads, "onnxruntime": ort.__version__,
        "torch": torch_rows.get("version"), "seconds": round(time.time() - t0, 1),
        "rows": [{"name": n, **(r or {"accuracy": None}), "bytes": size.get(f) if f else None} for n, r, f in rows],
        "sizes": {k: v for k, v in size.items()}, "output_step": step, "agreement_within_1_step": within,
        "max_abs_diff_vs_ort": float(np.max(np.abs(logits["static"] - ort_on_ours))),
        "agreement_within_1_step_int8_outputs": within_int8_out,
        "max_abs_diff_vs_ort_int8_outputs": float(np.max(np.abs(logits["static_int8_out"] - ort_on_int8_out))),
        "targets": [{"target": t, "value": v, "met": bool(m)} for t, v, m in checks],
    }
    if args.json:
        text = json.dumps(result, indent=1)
        if args.json == "-":
            print(text)
            return 0
        pathlib.Path(args.json).write_text(text + "\n")

    print(f"Fashion-MNIST, {len(y)} test images, {len(calib)} calibration images, {args.threads} threads "
          f"({result['date']}, ORT {ort.__version__}, PyTorch {torch_rows.get('version', '-')})\n")
    print("| model | top-1 | vs edgekit fp32 | top-1 changed vs own fp32 | top-2 ties | file | size / fp32 |")
    print("|---|---|---|---|---|---|---|")
    for n, r, f in rows:
        cells = ["-"] * 4 if r is None else [f"{r['accuracy'] * 100:.2f}%", f"{(r['accuracy'] - fp32) * 100:+.2f}",
                                             str(r["changed"]), str(r["ties"])]
        cells += [f"{size[f] / 1e3:.0f} kB", f"{size[f] / size['fp32']:.3f}x"] if f else ["-", "-"]
        print(f"| {n} | " + " | ".join(cells) + " |")
    print(f"\nedgekit int8 vs ORT on edgekit's static QDQ file: {within * 100:.3f}% of logits within 1 step "
          f"(step {step:.5f}, max |diff| {result['max_abs_diff_vs_ort']:.5f}); with --int8-outputs "
          f"{within_int8_out * 100:.3f}% (max |diff| {result['max_abs_diff_vs_ort_int8_outputs']:.5f})\n")
    print("| target | value | met |")
    print("|---|---|---|")
    for t, v, m in checks:
        print(f"| {t} | {v:.3f} | {'yes' if m else 'NO'} |")
    print(f"\n({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
