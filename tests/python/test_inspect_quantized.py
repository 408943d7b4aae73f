"""edgekit inspect on quantized models: quantized tensors by kind (count, per-tensor/per-channel,
scale and zero-point ranges) and initializer bytes by dtype, checked against the file itself
(read with the onnx package)."""
import json
import subprocess

import numpy as np
import pytest

from pyhelpers import CLI, MLPERF, make_cnn


@pytest.fixture(scope="module")
def cli():
    if not CLI.exists():
        pytest.skip(f"{CLI} is not built (run make build)")
    return str(CLI)


def edgekit(cli, *args):
    return subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=300)


def inspect_json(cli, model):
    r = edgekit(cli, "inspect", model, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def cnn(cli, tmp_path_factory):
    d = tmp_path_factory.mktemp("inspect_q")
    fp32 = make_cnn(d / "cnn.onnx")
    calib = d / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).standard_normal((32, 1, 8, 8)).astype(np.float32))
    out = {"fp32": fp32}
    for name, extra in [("static", []), ("per_tensor", ["--per-tensor"]), ("symmetric", ["--symmetric-activations"])]:
        out[name] = d / f"{name}.onnx"
        r = edgekit(cli, "quantize", fp32, "-o", out[name], "--calibration", calib, *extra)
        assert r.returncode == 0, r.stderr
    out["dynamic"] = d / "dynamic.onnx"
    r = edgekit(cli, "quantize", fp32, "-o", out["dynamic"], "--mode", "dynamic")
    assert r.returncode == 0, r.stderr
    return out


def by_dtype_from_file(path):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    names = {1: "f32", 3: "i8", 2: "u8", 6: "i32", 7: "i64"}
    out = {}
    for t in onnx.load(str(path)).graph.initializer:
        a = numpy_helper.to_array(t)
        d = out.setdefault(names[t.data_type], {"tensors": 0, "elements": 0, "bytes": 0})
        d["tensors"] += 1
        d["elements"] += a.size
        d["bytes"] += a.nbytes
    return out


def test_float_model_has_no_quantization_section(cli, cnn):
    j = inspect_json(cli, cnn["fp32"])
    assert "quantization" not in j
    assert j["initializers_by_dtype"] == {"f32": {"tensors": 6, "elements": j["parameters"], "bytes": j["parameter_bytes"]}}
    text = edgekit(cli, "inspect", cnn["fp32"]).stdout
    assert "Initializers by dtype" in text and "Quantization" not in text


def test_static_model_summary(cli, cnn):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    j = inspect_json(cli, cnn["static"])
    q = j["quantization"]
    # x, the two Conv(+Relu) outputs, the pooled and the flattened value (the logits stay float).
    assert q["activations"]["tensors"] == 5 and q["activations"]["per_tensor"] == 5
    assert q["weights"]["tensors"] == 3 and q["weights"]["per_channel"] == 3
    assert q["weights"]["channels"] == 4 + 8 + 5 and q["weights"]["dtypes"] == ["i8"]
    assert q["biases"]["tensors"] == 3 and q["biases"]["dtypes"] == ["i32"]
    assert q["weights"]["zero_point_min"] == q["weights"]["zero_point_max"] == 0  # symmetric weights
    assert -128 <= q["activations"]["zero_point_min"] < q["activations"]["zero_point_max"] <= 127
    assert q["tensors"] == 11
    # Scale ranges equal the file's activation scales.
    m = onnx.load(str(cnn["static"]))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    act = [inits[n.input[1]].item() for n in m.graph.node if n.op_type == "QuantizeLinear"]
    assert q["activations"]["scale_min"] == pytest.approx(min(act)) and q["activations"]["scale_max"] == pytest.approx(max(act))
    assert j["initializers_by_dtype"] == by_dtype_from_file(cnn["static"])
    assert j["initializers_by_dtype"]["i8"]["bytes"] >= 4 * 9 + 8 * 4 * 9 + 5 * 8  # the weights, 1 byte each
    text = edgekit(cli, "inspect", cnn["static"]).stdout
    assert "Quantization (11 quantized tensors)" in text
    assert "3 (17 ch)" in text


def test_per_tensor_and_symmetric(cli, cnn):
    q = inspect_json(cli, cnn["per_tensor"])["quantization"]
    assert q["weights"]["per_tensor"] == 3 and q["weights"]["per_channel"] == 0 and q["weights"]["channels"] == 0
    s = inspect_json(cli, cnn["symmetric"])["quantization"]
    assert s["activations"]["zero_point_min"] == s["activations"]["zero_point_max"] == 0


def test_dynamic_model_keeps_no_float_weights(cli, cnn):
    j = inspect_json(cli, cnn["dynamic"])
    assert j["quantization"]["runtime_quantized"] == 1  # the Gemm's input, per batch
    assert j["initializers_by_dtype"]["i8"]["elements"] == 5 * 8 + 1  # the weight and its zero point
    # The Gemm's float weight is gone (only the conv weights, biases and scales stay f32).
    f32 = j["initializers_by_dtype"]["f32"]["elements"]
    assert f32 == 4 * 9 + 4 + 8 * 4 * 9 + 8 + 5 + 1, f32


def test_tflite_int8_model(cli):
    m = MLPERF / "kws_ref_model.tflite"
    if not m.exists():
        pytest.skip(f"{m} not found")
    q = inspect_json(cli, m)["quantization"]
    assert q["weights"]["tensors"] >= 5 and q["activations"]["tensors"] >= 5
    assert 0 < q["weights"]["scale_min"] <= q["weights"]["scale_max"] < 1
