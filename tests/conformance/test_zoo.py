"""Every zoo model (../shared/tools/export_zoo.py, PyTorch reference outputs) runs in edgekit
through the CLI and through the Python package, and matches PyTorch within rtol 1e-3 of the
output's largest magnitude."""
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from conftest import ZOO, zoo_models  # noqa: E402

MODELS = zoo_models()
# Planned runs fill the arena with NaN bytes first, so a kernel relying on zeroed outputs fails.
os.environ["EDGEKIT_POISON_ARENA"] = "1"
RTOL = 1e-3


def check_close(got, want, name):
    assert got.shape == want.shape, f"{name}: shape {got.shape}, expected {want.shape}"
    err = float(np.max(np.abs(got.astype(np.float64) - want)))
    scale = float(np.max(np.abs(want)))
    assert err <= RTOL * scale, f"{name}: max error {err:.3g} exceeds {RTOL} x {scale:.3g}"


@pytest.mark.skipif(not MODELS, reason=f"no zoo in {ZOO} (make fixtures exports it with PyTorch)")
@pytest.mark.parametrize("name", MODELS)
def test_zoo_cli(name, cli, tmp_path):
    d = ZOO / name
    r = subprocess.run([cli, "run", str(d / "model.onnx"), "--input", str(d / "input_0.npy"), "--output-dir",
                        str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    check_close(np.load(tmp_path / "output.npy"), np.load(d / "output_0.npy"), name)


@pytest.mark.skipif(not MODELS, reason=f"no zoo in {ZOO} (make fixtures exports it with PyTorch)")
@pytest.mark.parametrize("name", MODELS)
def test_zoo_python(name):
    edgekit = pytest.importorskip("edgekit", reason="Python package not built (make build)")
    d = ZOO / name
    s = edgekit.Session(str(d / "model.onnx"))
    x = np.load(d / "input_0.npy")
    for attempt in ("first run", "planned run"):  # the second run uses the planned arena
        (y,) = s.run({s.inputs[0].name: x})
        check_close(y, np.load(d / "output_0.npy"), f"{name} ({attempt})")
    # dynamic batch: the zoo exports batch as a symbolic dim
    y2 = s.run({s.inputs[0].name: np.concatenate([x, x])})[0]
    check_close(y2[1:], np.load(d / "output_0.npy"), name + " (batch 2)")
