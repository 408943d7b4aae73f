"""The Fashion-MNIST quantization study end to end on a quick variant: scripts/train_fashion_cnn.py
for one epoch on a subset, then scripts/quant_accuracy.py on 1,000 test images. Checks that the
numbers it reports are real: a trained model far above chance, int8 and fp16 close to fp32, the
file size ratios, and edgekit's int8 execution agreeing with ONNX Runtime on the same QDQ file."""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from conftest import ROOT, SHARED  # noqa: E402

DATA = pathlib.Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
TORCH_PYTHON = "/usr/bin/python3"


def torch_python():
    """An interpreter that imports torch: this one, else Debian's /usr/bin/python3."""
    if importlib.util.find_spec("torch") is not None:
        return sys.executable
    if pathlib.Path(TORCH_PYTHON).exists() and subprocess.run(
            [TORCH_PYTHON, "-c", "import torch"], capture_output=True).returncode == 0:
        return TORCH_PYTHON
    pytest.skip(f"PyTorch is importable neither here nor by {TORCH_PYTHON} (apt-get install python3-torch)")


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{cmd[1]} failed:\n{r.stderr[-3000:]}"
    return r


def test_quick_study_end_to_end(cli, tmp_path):
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is the peer (make deps-peers)")
    pytest.importorskip("onnx", reason="the study reads the QDQ output scale with onnx")
    if not any((DATA / f"train-images-idx3-ubyte{z}").exists() for z in ("", ".gz")):
        pytest.skip(f"Fashion-MNIST not found in {DATA} (apt-get install dataset-fashion-mnist)")
    if not (SHARED / "tools" / "export_zoo.py").exists():
        pytest.skip(f"{SHARED}/tools/export_zoo.py (the fashion_cnn architecture) is absent")
    py = torch_python()
    env = dict(os.environ, EDGEKIT_SHARED=str(SHARED))
    torch_env = {k: v for k, v in env.items() if k != "LD_PRELOAD"}  # make test-asan preloads libasan
    data = tmp_path / "fashion"

    r = run([py, ROOT / "scripts/train_fashion_cnn.py", data, "--epochs", "1", "--train-subset", "2000",
             "--test-subset", "1000"], env=torch_env)
    assert "test accuracy" in r.stdout
    for f in ("model.onnx", "model.pt", "calib.npz", "test_x.npy", "test_y.npy"):
        assert (data / f).exists(), f
    import numpy as np
    calib = np.load(data / "calib.npz")
    assert list(calib.keys()) == ["input"] and calib["input"].shape == (500, 1, 28, 28)
    assert calib["input"].dtype == np.float32 and abs(float(calib["input"].mean())) < 0.2  # normalised
    assert np.load(data / "test_x.npy").shape == (1000, 1, 28, 28)

    out = tmp_path / "study.json"
    r = run([sys.executable, ROOT / "scripts/quant_accuracy.py", data, "--build", pathlib.Path(cli).parent,
             "--torch-python", py, "--quick", "--json", out], env=env)
    assert "| edgekit static int8" in r.stdout and "| target | value | met |" in r.stdout
    res = json.loads(out.read_text())
    assert res["test_images"] == 1000 and res["calibration_images"] == 500
    rows = {row["name"].split(" (")[0]: row for row in res["rows"]}
    acc = {name: row["accuracy"] for name, row in rows.items()}
    fp32 = acc["edgekit fp32"]
    assert fp32 > 0.6, acc  # chance is 0.1
    assert abs(acc["ORT fp32"] - fp32) <= 0.002 and abs(acc["PyTorch fp32"] - fp32) <= 0.002, acc
    for name in ("edgekit static int8", "edgekit dynamic int8", "ORT quantize_static", "ORT quantize_dynamic"):
        assert acc[name] >= fp32 - 0.03, (name, acc)
    assert abs(acc["edgekit fp16 weights"] - fp32) <= 0.005, acc
    # int8 changes few predictions; with float logits (the default), no two top logits tie.
    assert rows["edgekit static int8"]["changed"] <= 0.03 * res["test_images"], rows
    assert rows["edgekit static int8"]["ties"] == 0, rows
    assert acc["edgekit static int8, int8 logits"] >= fp32 - 0.03, acc
    torch_static = [a for n, a in acc.items() if n.startswith("PyTorch eager static")]
    assert torch_static and all(a is not None and a >= fp32 - 0.05 for a in torch_static), acc
    sizes = res["sizes"]
    assert sizes["static"] <= 0.30 * sizes["fp32"] and sizes["fp16"] <= 0.51 * sizes["fp32"], sizes
    assert res["agreement_within_1_step"] >= 0.999 and res["agreement_within_1_step_int8_outputs"] >= 0.999, res
    assert {t["target"] for t in res["targets"]} and all(isinstance(t["met"], bool) for t in res["targets"])
