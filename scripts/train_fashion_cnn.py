#!/usr/bin/env python3
"""Train the zoo's `fashion_cnn` on Fashion-MNIST and export what the quantization study needs.

The architecture is the one in shared/tools/export_zoo.py (imported by path, not copied). Data
comes from Debian's dataset-fashion-mnist (gzipped IDX files in /usr/share/datasets/fashion-mnist).
Inputs are normalised to roughly zero mean and unit variance, (x / 255 - 0.2860) / 0.3530, the
range of the zoo's standard-normal reference input; shape [N, 1, 28, 28], float32, input "input",
output "output" (10 logits), batch dimension dynamic, opset 13 - the zoo's conventions.

Writes into OUT:
  model.onnx          fp32 ONNX
  model.pt            the PyTorch state_dict (for PyTorch's own quantization in quant_accuracy.py)
  calib.npz           500 training images under the key "input", [500, 1, 28, 28] float32
  test_x.npy/test_y.npy  the test set, normalised, [N, 1, 28, 28] float32 and int64 labels
  train.json          seed, epochs, test accuracy, ...

usage: /usr/bin/python3 scripts/train_fashion_cnn.py OUT [--epochs 5] [--train-subset N] [--test-subset N]
       /usr/bin/python3 scripts/train_fashion_cnn.py OUT --calibration-seeds 1,2,3,4
Needs PyTorch (Debian's python3-torch, run with /usr/bin/python3).
"""
import argparse
import gzip
import importlib.util
import json
import os
import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn as nn

DATA = pathlib.Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
SHARED = pathlib.Path(os.environ.get("EDGEKIT_SHARED", pathlib.Path(__file__).resolve().parents[2] / "shared"))
MEAN, STD = 0.2860, 0.3530  # of the Fashion-MNIST training images, pixel / 255
CALIB_SAMPLES = 500


def load_zoo():
    """shared/tools/export_zoo.py as a module, so FashionCnn is the zoo's own class."""
    path = SHARED / "tools" / "export_zoo.py"
    if not path.exists():
        sys.exit(f"train_fashion_cnn: {path} not found (set EDGEKIT_SHARED to the shared/ folder)")
    spec = importlib.util.spec_from_file_location("export_zoo", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read_idx(path):
    """An IDX file (gzipped or not): ubyte images [N, rows, cols] or labels [N]."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:  # 0x00 0x00 0x08 (ubyte) ndim
        sys.exit(f"train_fashion_cnn: {path}: not a ubyte IDX file (magic {magic:#x})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        sys.exit(f"train_fashion_cnn: {path}: header says {dims}, file holds {data.size} values")
    return data.reshape(dims)


def find(name):
    for p in (DATA / f"{name}.gz", DATA / name):
        if p.exists():
            return p
    sys.exit(f"train_fashion_cnn: {DATA / name}[.gz] not found (apt-get install dataset-fashion-mnist)")


def load_split(prefix):
    x = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    y = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    if len(x) != len(y):
        sys.exit(f"train_fashion_cnn: {prefix}: {len(x)} images but {len(y)} labels")
    return normalise(x), y.astype(np.int64)


def normalise(images_u8):
    return ((images_u8.astype(np.float32) / 255.0 - MEAN) / STD)[:, None, :, :]


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(torch.from_numpy(x[i:i + batch])).argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-subset", type=int, default=0, help="train on the first N shuffled images (0: all)")
    ap.add_argument("--test-subset", type=int, default=0, help="export only the first N test images (0: all)")
    ap.add_argument("--min-accuracy", type=float, default=0.0, help="exit 1 below this test accuracy")
    ap.add_argument("--calibration-seeds", type=lambda v: [int(s) for s in v.split(",")],
                    help="only write OUT/calib_seedK.npz for each K (e.g. 1,2,3: other 500 training images, "
                         "drawn as calib.npz is with seed K; seed 0 gives calib.npz's) and exit")
    a = ap.parse_args()
    if a.calibration_seeds:
        train_x, _ = load_split("train")
        a.out.mkdir(parents=True, exist_ok=True)
        for k in a.calibration_seeds:
            order = np.random.default_rng(k).permutation(len(train_x))
            np.savez(a.out / f"calib_seed{k}.npz", input=train_x[order[:CALIB_SAMPLES]])
        return 0

    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(a.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(a.seed)

    zoo = load_zoo()
    make, shape = zoo.ZOO["fashion_cnn"]
    model = make()

    train_x, train_y = load_split("train")
    test_x, test_y = load_split("t10k")
    order = rng.permutation(len(train_x))
    calib = train_x[order[:CALIB_SAMPLES]]
    if a.train_subset:
        order = order[:a.train_subset]
    if a.test_subset:
        test_x, test_y = test_x[:a.test_subset], test_y[:a.test_subset]
    tx, ty = torch.from_numpy(train_x[order]), torch.from_numpy(train_y[order])

    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps = a.epochs * ((len(tx) + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(a.seed)
    t0 = time.time()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(tx), generator=gen)
        total = 0.0
        for i in range(0, len(tx), a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(tx[idx]), ty[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        acc = evaluate(model, test_x, test_y)
        print(f"epoch {epoch + 1}/{a.epochs}: loss {total / len(tx):.4f}, test accuracy {acc * 100:.2f}% "
              f"({time.time() - t0:.0f} s)", file=sys.stderr)
    acc = evaluate(model, test_x, test_y)

    a.out.mkdir(parents=True, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), a.out / "model.pt")
    dyn = {"input": {0: "N"}, "output": {0: "N"}}
    torch.onnx.export(model, torch.zeros(*shape), str(a.out / "model.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"], dynamic_axes=dyn)
    np.savez(a.out / "calib.npz", input=calib)
    np.save(a.out / "test_x.npy", test_x)
    np.save(a.out / "test_y.npy", test_y)
    info = {"seed": a.seed, "epochs": a.epochs, "batch": a.batch, "lr": a.lr, "optimizer": "Adam, one-cycle",
            "train_images": len(tx), "test_images": len(test_x), "test_accuracy": acc,
            "calibration_images": len(calib), "normalisation": {"mean": MEAN, "std": STD},
            "torch": torch.__version__, "seconds": round(time.time() - t0, 1)}
    (a.out / "train.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"test accuracy {acc * 100:.2f}% on {len(test_x)} images -> {a.out}")
    if acc < a.min_accuracy:
        print(f"train_fashion_cnn: test accuracy {acc * 100:.2f}% is below --min-accuracy "
              f"{a.min_accuracy * 100:.2f}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
