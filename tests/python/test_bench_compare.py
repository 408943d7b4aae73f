"""bench/compare.py runs both engines and prints a table with ratios (numbers are not checked:
speed claims come from the benchmark itself, never from tests)."""
import json
import subprocess
import sys

import pytest

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from conftest import BUILD, ROOT, ZOO  # noqa: E402


def test_compare_quick(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (make deps-peers)")
    if not (ZOO / "kws_dscnn" / "model.onnx").exists():
        pytest.skip(f"no zoo in {ZOO} (make fixtures)")
    if not (BUILD / "edgekit").exists():
        pytest.skip("edgekit is not built")
    out = tmp_path / "rows.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "compare.py"), "--build", str(BUILD), "--zoo", str(ZOO),
                        "--mlperf", str(tmp_path / "none"), "--models", "kws_dscnn", "--threads", "1", "--runs", "3",
                        "--warmup", "1", "--rounds", "2", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "| kws_dscnn | onnxruntime | 1 |" in r.stdout
    assert "geometric mean ratio" in r.stdout
    rows = json.loads(out.read_text())
    assert rows[0]["model"] == "kws_dscnn" and rows[0]["edgekit_ms"] > 0 and rows[0]["peer_ms"] > 0


def test_compare_without_binary_fails_cleanly(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "compare.py"), "--build", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "is not built" in r.stderr


def test_compare_int8_columns(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (make deps-peers)")
    pytest.importorskip("numpy")
    if not (ZOO / "kws_dscnn" / "model.onnx").exists():
        pytest.skip(f"no zoo in {ZOO} (make fixtures)")
    if not (BUILD / "edgekit").exists():
        pytest.skip("edgekit is not built")
    out = tmp_path / "rows.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "compare.py"), "--build", str(BUILD), "--zoo", str(ZOO),
                        "--mlperf", str(tmp_path / "none"), "--models", "kws_dscnn", "--threads", "1", "--runs", "3",
                        "--warmup", "1", "--rounds", "1", "--int8", "--json", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "edgekit int8 ms | ORT int8 ms |" in r.stdout
    row = json.loads(out.read_text())[0]
    assert row["int8_edgekit_ms"] > 0 and row["int8_peer_ms"] > 0
    assert row["int8_over_fp32"] > 0 and row["int8_ratio"] > 0
