"""edgekit quantize --mode dynamic on recurrent models: GRU and LSTM weights (W, R) stored int8
behind DequantizeLinear, a standard model that ONNX Runtime runs (dequantizing, float products).
edgekit runs it as com.edgekit:DynamicQGRU / DynamicQLSTM (passes/fuse_dynamic_recurrent.cpp:
int8 products, activations quantized on the fly), close to the float model and to ORT; at
--opt-level 1 (no fusion) it folds the DequantizeLinear and reproduces ORT. --format ekm stores
the int8 weights; --exclude keeps them float."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_quantize import edgekit_and_ort, model, one_line_error, quantize  # noqa: E402


def edgekit_ops(cli, path):
    """The registry keys of the ops edgekit runs `path` with (edgekit ops, opt level 3)."""
    r = subprocess.run([cli, "ops", str(path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return {line for line in r.stdout.splitlines() if line and not line.startswith("#")}


def edgekit_session(cli, path, **options):
    sys.path.insert(0, str(Path(cli).parent / "python"))
    import edgekit
    return edgekit.Session(str(path), **options)


def dequantized_recurrent_inputs(path):
    """For each GRU/LSTM node: which of its W and R inputs a DequantizeLinear of an int8
    initializer produces."""
    import onnx
    m = onnx.load(str(path))
    inits = {i.name: i for i in m.graph.initializer}
    dq = {n.output[0]: n for n in m.graph.node if n.op_type == "DequantizeLinear"}
    found = {}
    for n in m.graph.node:
        if n.op_type in ("GRU", "LSTM"):
            ok = []
            for i in (1, 2):
                src = dq.get(n.input[i])
                ok.append(src is not None and inits[src.input[0]].data_type == onnx.TensorProto.INT8)
            found[n.op_type] = ok
    return found


@pytest.mark.parametrize("name,op", [("gru_kws", "GRU"), ("lstm_kws", "LSTM")])
@pytest.mark.parametrize("per_channel", [False, True])
def test_recurrent_weights_are_int8_and_run_in_ort_and_edgekit(cli, tmp_path, name, op, per_channel):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    fp32 = model(name)
    out = tmp_path / "dyn.onnx"
    r = quantize(cli, fp32, "-o", out, "--mode", "dynamic", *(["--per-channel"] if per_channel else []))
    assert r.returncode == 0, r.stderr
    assert f"{op} 1" in r.stdout, r.stdout
    assert dequantized_recurrent_inputs(out) == {op: [True, True]}
    assert out.stat().st_size < 0.36 * fp32.stat().st_size  # the weights are most of the file
    assert f"com.edgekit:DynamicQ{op}" in edgekit_ops(cli, out) and op not in edgekit_ops(cli, out)
    x = np.random.default_rng(1).standard_normal((4, 49, 10)).astype(np.float32)
    got, want = edgekit_and_ort(cli, out, {"input": x})
    ref = ort.InferenceSession(str(fp32)).run(None, {"input": x})[0]
    # Int8 weights (127 steps of the largest |w|) move these logits by well under 3% of their
    # range (ORT: 0.2-0.4%); edgekit's int8 products add X's and h's own rounding (255 steps of
    # their range) of the same order: 0.4-0.8% of the float model's range, 0.3-0.7% of ORT's.
    assert np.abs(got - ref).max() < 0.03 * np.abs(ref).max()
    assert np.abs(got - want).max() < 0.03 * np.abs(want).max()
    # Without the fusion edgekit runs the float op on the dequantized weights, as ORT does.
    folded = edgekit_session(cli, out, opt_level=1).run({"input": x})[0]
    np.testing.assert_allclose(folded, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name,op", [("gru_kws", "GRU"), ("lstm_kws", "LSTM")])
def test_dynamic_ekm_stores_int8_weights(cli, tmp_path, name, op):
    pytest.importorskip("onnx")
    fp32 = model(name)
    dyn, ekm, fp32_ekm = tmp_path / "dyn.onnx", tmp_path / "dyn.ekm", tmp_path / "fp32.ekm"
    for out, fmt in ((dyn, "onnx"), (ekm, "ekm")):
        r = quantize(cli, fp32, "-o", out, "--mode", "dynamic", "--format", fmt)
        assert r.returncode == 0, r.stderr
    r = subprocess.run([cli, "compile", str(fp32), "-o", str(fp32_ekm)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"com.edgekit:DynamicQ{op}" in edgekit_ops(cli, ekm)
    # W and R are most of these files: int8 makes the .ekm about a third of the float one
    # (gru_kws 23,876 / 68,036 bytes, lstm_kws 29,252 / 87,556).
    assert ekm.stat().st_size < 0.4 * fp32_ekm.stat().st_size
    r = subprocess.run([cli, "inspect", str(ekm), "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    weights = json.loads(r.stdout)["quantization"]["weights"]
    assert weights["tensors"] == 2 and weights["dtypes"] == ["i8"] and weights["zero_point_max"] == 0
    x = np.random.default_rng(3).standard_normal((2, 49, 10)).astype(np.float32)
    want = edgekit_session(cli, dyn).run({"input": x})[0]
    np.testing.assert_array_equal(edgekit_session(cli, ekm).run({"input": x})[0], want)


def test_bidirectional_lstm_per_channel_scales_cover_both_directions(cli, tmp_path):
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper
    import onnx
    rng = np.random.default_rng(2)
    hidden, inp = 5, 3
    # Direction 1's weights ten times direction 0's: a per-row scale from one direction alone would clip.
    w = rng.standard_normal((2, 4 * hidden, inp)).astype(np.float32) * np.array([1, 10], np.float32)[:, None, None]
    rw = rng.standard_normal((2, 4 * hidden, hidden)).astype(np.float32) * 0.5
    b = rng.standard_normal((2, 8 * hidden)).astype(np.float32) * 0.1
    node = helper.make_node("LSTM", ["x", "W", "R", "B"], ["y"], hidden_size=hidden, direction="bidirectional")
    g = helper.make_graph([node], "bilstm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [7, 2, inp])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [7, 2, 2, hidden])],
                          [numpy_helper.from_array(w, "W"), numpy_helper.from_array(rw, "R"), numpy_helper.from_array(b, "B")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    fp32 = tmp_path / "bilstm.onnx"
    onnx.save(m, str(fp32))
    out = tmp_path / "dyn.onnx"
    r = quantize(cli, fp32, "-o", out, "--mode", "dynamic", "--per-channel")
    assert r.returncode == 0, r.stderr
    assert "com.edgekit:DynamicQLSTM" in edgekit_ops(cli, out)
    x = rng.standard_normal((7, 2, inp)).astype(np.float32)
    got, want = edgekit_and_ort(cli, out, {"x": x})
    folded = edgekit_session(cli, out, opt_level=1).run({"x": x})[0]
    np.testing.assert_allclose(folded, want, rtol=0, atol=1e-5)
    ref, _ = edgekit_and_ort(cli, fp32, {"x": x})
    # Weights only (ORT, or edgekit unfused): within 0.05 of the float model. edgekit's int8
    # products add X's rounding (half of 255 steps of its range) times a row's sum of |w|, and
    # h's likewise through R: one step's worst case on the pre-activations, 0.58 here with
    # direction 1's weights ten times larger. The roundings are random and the gates damp
    # them: as in tests/kernels/test_dynamic_q_rnn.cpp a quarter of it holds (observed 0.06).
    step_bound = 0.5 * (x.max() - min(x.min(), 0)) / 255 * np.abs(w).sum(2).max() + 1 / 255 * np.abs(rw).sum(2).max()
    assert np.abs(want - ref).max() < 0.05
    assert np.abs(got - want).max() < 0.25 * step_bound
    assert np.abs(got - ref).max() < 0.05 + 0.25 * step_bound


def test_dynamic_model_quantized_again_stays_standard_onnx(cli, tmp_path):
    """The quantizer optimises its input first, which now fuses a dynamic model's GRU into
    DynamicQGRU; it turns that back into the float GRU and re-quantizes it, so the output is
    the same standard ONNX as from the float model."""
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    once, twice = tmp_path / "once.onnx", tmp_path / "twice.onnx"
    assert quantize(cli, model("gru_kws"), "-o", once, "--mode", "dynamic").returncode == 0
    r = quantize(cli, once, "-o", twice, "--mode", "dynamic")
    assert r.returncode == 0, r.stderr
    assert "GRU 1" in r.stdout, r.stdout
    assert all(n.domain in ("", "ai.onnx") for n in onnx.load(str(twice)).graph.node)
    assert dequantized_recurrent_inputs(twice) == {"GRU": [True, True]}
    x = np.random.default_rng(4).standard_normal((1, 49, 10)).astype(np.float32)
    a = ort.InferenceSession(str(once)).run(None, {"input": x})[0]
    b = ort.InferenceSession(str(twice)).run(None, {"input": x})[0]
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)  # int8 values re-quantize to themselves


def test_exclude_keeps_recurrent_weights_float(cli, tmp_path):
    pytest.importorskip("onnx")
    out = tmp_path / "dyn.onnx"
    r = quantize(cli, model("gru_kws"), "-o", out, "--mode", "dynamic", "--exclude", "GRU")
    assert r.returncode == 0, r.stderr
    assert dequantized_recurrent_inputs(out) == {"GRU": [False, False]}
    r = quantize(cli, model("gru_kws"), "-o", out, "--mode", "dynamic", "--exclude", "GRU", "Gemm")
    one_line_error(r, "GRU or LSTM with constant weights")
