"""edgekit quantize --mode dynamic on recurrent models: GRU and LSTM weights (W, R) stored int8
behind DequantizeLinear, a standard model that ONNX Runtime runs and edgekit reproduces, close
to the float model; --exclude keeps them float."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_quantize import edgekit_and_ort, model, one_line_error, quantize  # noqa: E402


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
    x = np.random.default_rng(1).standard_normal((4, 49, 10)).astype(np.float32)
    got, want = edgekit_and_ort(cli, out, {"input": x})
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    ref = ort.InferenceSession(str(fp32)).run(None, {"input": x})[0]
    # Int8 weights (127 steps of the largest |w|) move these logits by well under 3% of their range.
    assert np.abs(got - ref).max() < 0.03 * np.abs(ref).max()


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
    x = rng.standard_normal((7, 2, inp)).astype(np.float32)
    got, want = edgekit_and_ort(cli, out, {"x": x})
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    ref, _ = edgekit_and_ort(cli, fp32, {"x": x})
    assert np.abs(got - ref).max() < 0.05


def test_exclude_keeps_recurrent_weights_float(cli, tmp_path):
    pytest.importorskip("onnx")
    out = tmp_path / "dyn.onnx"
    r = quantize(cli, model("gru_kws"), "-o", out, "--mode", "dynamic", "--exclude", "GRU")
    assert r.returncode == 0, r.stderr
    assert dequantized_recurrent_inputs(out) == {"GRU": [False, False]}
    r = quantize(cli, model("gru_kws"), "-o", out, "--mode", "dynamic", "--exclude", "GRU", "Gemm")
    one_line_error(r, "GRU or LSTM with constant weights")
