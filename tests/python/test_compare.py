"""edgekit compare A B --data DATA: SQNR / errors / top-1 agreement of B against A, --per-layer over
B's quantized activations, --json, and a one-line error for every bad input."""
import json
import math
import subprocess

import numpy as np
import pytest

from pyhelpers import CLI, ZOO, make_cnn


@pytest.fixture(scope="module")
def cli():
    if not CLI.exists():
        pytest.skip(f"{CLI} is not built (run make build)")
    return str(CLI)


def edgekit(cli, *args, timeout=300):
    return subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def expect_error(r, *words):
    assert r.returncode != 0, f"expected failure, got 0; stdout: {r.stdout}"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {r.stderr!r}"
    assert lines[0].startswith("edgekit: error: "), lines[0]
    for w in words:
        assert w in lines[0], f"{w!r} not in {lines[0]!r}"


def samples(n=32, shape=(1, 8, 8), seed=1, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(dtype)


@pytest.fixture(scope="module")
def models(cli, tmp_path_factory):
    """The float CNN, its static int8 quantization (calibrated on 64 samples) and a 32-sample data set."""
    d = tmp_path_factory.mktemp("compare")
    fp32 = make_cnn(d / "cnn.onnx")
    calib = d / "calib.npz"
    np.savez(calib, x=samples(64, seed=2))
    q = d / "cnn.int8.onnx"
    r = edgekit(cli, "quantize", fp32, "-o", q, "--calibration", calib)
    assert r.returncode == 0, r.stderr
    data = d / "data.npz"
    np.savez(data, x=samples(32))
    return fp32, q, data


def compare_json(cli, *args):
    r = edgekit(cli, "compare", *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_help(cli):
    r = edgekit(cli, "compare", "--help")
    assert r.returncode == 0, r.stderr
    for w in ["--data", "--per-layer", "--json", "--threads", "--limit", "SQNR", "top-1"]:
        assert w in r.stdout, w
    assert "compare" in edgekit(cli, "--help").stdout


def test_model_against_itself_is_identical(cli, models):
    fp32, _, data = models
    j = compare_json(cli, fp32, fp32, "--data", data)
    assert j["samples"] == 32
    (out,) = j["outputs"]
    assert out["name"] == "logits" and out["sqnr_db"] == "inf"
    assert out["max_abs_error"] == 0 and out["mean_abs_error"] == 0
    assert out["top1_agreement"] == 1.0 and out["top1_rows"] == 32
    text = edgekit(cli, "compare", fp32, fp32, "--data", data)
    assert text.returncode == 0, text.stderr
    assert "inf" in text.stdout and "1.000 (32/32)" in text.stdout


def test_fp32_against_static_int8(cli, models):
    fp32, q, data = models
    j = compare_json(cli, fp32, q, "--data", data)
    (out,) = j["outputs"]
    assert isinstance(out["sqnr_db"], float) and 15 < out["sqnr_db"] < 60, out
    assert 0 < out["mean_abs_error"] <= out["max_abs_error"]
    assert 0.6 <= out["top1_agreement"] <= 1.0
    # The same figure numpy gets from the two models' outputs through the Python bindings.
    edgekit_py = pytest.importorskip("edgekit")
    x = np.load(data)["x"]
    ref = edgekit_py.Session(str(fp32)).run({"x": x})[0].astype(np.float64)
    test = edgekit_py.Session(str(q)).run({"x": x})[0].astype(np.float64)
    want = 10 * math.log10((ref ** 2).sum() / ((ref - test) ** 2).sum())
    assert abs(out["sqnr_db"] - want) < 0.01, (out["sqnr_db"], want)
    assert abs(out["max_abs_error"] - np.abs(ref - test).max()) < 1e-5
    agree = np.mean(ref.argmax(-1) == test.argmax(-1))
    assert abs(out["top1_agreement"] - agree) < 1e-9


def test_per_layer_lists_quantized_tensors_worst_first(cli, models):
    fp32, q, data = models
    j = compare_json(cli, fp32, q, "--data", data, "--per-layer")
    layers = j["layers"]
    names = {layer["tensor"]: layer for layer in layers}
    # edgekit quantize: the input (x -> x/dq), the Conv outputs with their Relus absorbed, the
    # pooled and flattened values (the logits stay float: quantize's default).
    assert {"x/dq", "h1r", "h2r", "h3", "h4"} <= set(names) and "logits" not in names, sorted(names)
    assert names["x/dq"]["reference_tensor"] == "x" and names["x/dq"]["op"] == "input"
    assert names["h1r"]["op"] == "Conv" and names["h1r"]["reference_tensor"] == "h1r"
    sqnr = [layer["sqnr_db"] for layer in layers]
    assert all(isinstance(s, float) and 10 < s < 80 for s in sqnr), sqnr
    assert sqnr == sorted(sqnr)
    # The float logits (not a quantized tensor, so not a layer row) are close to fp32.
    assert 10 < j["outputs"][0]["sqnr_db"] < 80
    text = edgekit(cli, "compare", fp32, q, "--data", data, "--per-layer")
    assert text.returncode == 0, text.stderr
    table = text.stdout.split("Quantized activations, worst first")[1].strip().splitlines()[2:]
    assert table[0].split()[0] == layers[0]["tensor"] and len(table) == len(layers)


def test_json_fields_and_limit(cli, models):
    fp32, q, data = models
    j = compare_json(cli, fp32, q, "--data", data, "--limit", "5", "--threads", "1")
    assert j["samples"] == 5 and j["reference"] == str(fp32) and j["test"] == str(q) and j["data"] == str(data)
    assert j["threads"] == 1 and "layers" not in j
    (out,) = j["outputs"]
    assert set(out) >= {"name", "dtype", "shape", "sqnr_db", "max_abs_error", "mean_abs_error", "elements",
                        "top1_agreement", "top1_rows"}
    assert out["shape"] == ["N", 5] and out["dtype"] == "f32"
    assert out["elements"] == 25 and out["top1_rows"] == 5


def test_folder_of_npy_samples(cli, models, tmp_path):
    fp32, q, data = models
    x = np.load(data)["x"]
    for i in range(6):
        np.save(tmp_path / f"s{i}.npy", x[i])  # one sample each, without the batch dim
    j = compare_json(cli, fp32, q, "--data", tmp_path)
    batch = compare_json(cli, fp32, q, "--data", data, "--limit", "6")
    assert j["samples"] == 6
    assert abs(j["outputs"][0]["sqnr_db"] - batch["outputs"][0]["sqnr_db"]) < 1e-3


def test_zoo_kws_dscnn_static(cli, tmp_path):
    m = ZOO / "kws_dscnn" / "model.onnx"
    if not m.exists():
        pytest.skip(f"{m} not found (make fixtures)")
    calib = tmp_path / "calib.npz"
    np.savez(calib, input=samples(64, shape=(1, 49, 10), seed=3))
    q = tmp_path / "q.onnx"
    r = edgekit(cli, "quantize", m, "-o", q, "--calibration", calib)
    assert r.returncode == 0, r.stderr
    data = tmp_path / "data.npz"
    np.savez(data, input=samples(32, shape=(1, 49, 10), seed=4))
    j = compare_json(cli, m, q, "--data", data, "--per-layer")
    assert 15 < j["outputs"][0]["sqnr_db"] < 60, j["outputs"]
    ops = [layer["op"] for layer in j["layers"]]
    assert ops.count("Conv") == 9, ops  # every Conv output (its Relu absorbed) is quantized


# ---- bad input: one line on stderr, exit != 0

def test_models_that_differ(cli, models, tmp_path):
    from onnx import TensorProto

    fp32, _, data = models
    expect_error(edgekit(cli, "compare", fp32, make_cnn(tmp_path / "a.onnx", input_name="image"), "--data", data),
                 "input 'x'", "is not an input of", "a.onnx")
    expect_error(edgekit(cli, "compare", fp32, make_cnn(tmp_path / "b.onnx", input_dtype=TensorProto.DOUBLE),
                         "--data", data), "input 'x' is f32 in", "f64 in")
    expect_error(edgekit(cli, "compare", fp32, make_cnn(tmp_path / "c.onnx", input_shape=("N", 1, 9, 8)),
                         "--data", data), "input 'x' has shape [N,1,8,8] in", "[N,1,9,8] in")
    expect_error(edgekit(cli, "compare", fp32, make_cnn(tmp_path / "d.onnx", output_name="scores"), "--data", data),
                 "output 'logits'", "is not an output of", "d.onnx")


def test_int8_io_model_is_named_as_the_cause(cli, models, tmp_path):
    fp32, _, data = models
    q = tmp_path / "io.onnx"
    r = edgekit(cli, "quantize", fp32, "-o", q, "--calibration", data, "--int8-io")
    assert r.returncode == 0, r.stderr
    expect_error(edgekit(cli, "compare", fp32, q, "--data", data), "input 'x' is f32", "i8 in", "--int8-io")


def test_data_that_does_not_fit(cli, models, tmp_path):
    fp32, q, _ = models
    bad = tmp_path / "shape.npz"
    np.savez(bad, x=samples(4, shape=(1, 8, 9)))
    expect_error(edgekit(cli, "compare", fp32, q, "--data", bad), "shape.npz['x']", "has shape [4,1,8,9]",
                 "expects [N,1,8,8]")
    f64 = tmp_path / "f64.npz"
    np.savez(f64, x=samples(4, dtype=np.float64))
    expect_error(edgekit(cli, "compare", fp32, q, "--data", f64), "has dtype f64", "expects f32")
    folder = tmp_path / "folder"
    folder.mkdir()
    np.save(folder / "a.npy", samples(1)[0])
    np.save(folder / "b.npy", samples(1, shape=(1, 7, 8))[0])  # the second sample is the odd one
    expect_error(edgekit(cli, "compare", fp32, q, "--data", folder), "b.npy", "has shape [1,1,7,8]", "expects [N,1,8,8]")
    # A model with a fixed batch of 1: a file holding two samples is named, with expected vs got.
    fixed = make_cnn(tmp_path / "fixed.onnx", input_shape=(1, 1, 8, 8))
    folder2 = tmp_path / "folder2"
    folder2.mkdir()
    np.save(folder2 / "a.npy", samples(1))
    np.save(folder2 / "pair.npy", samples(2))
    expect_error(edgekit(cli, "compare", fixed, fixed, "--data", folder2), "pair.npy", "expected shape [1,1,8,8]",
                 "got [2,1,8,8]")


def test_empty_data_set(cli, models, tmp_path):
    fp32, q, _ = models
    empty = tmp_path / "empty.npz"
    np.savez(empty, x=np.zeros((0, 1, 8, 8), np.float32))
    expect_error(edgekit(cli, "compare", fp32, q, "--data", empty), "empty.npz", "holds no samples")
    folder = tmp_path / "none"
    folder.mkdir()
    expect_error(edgekit(cli, "compare", fp32, q, "--data", folder), "holds no .npy files")
    expect_error(edgekit(cli, "compare", fp32, q, "--data", tmp_path / "missing.npz"), "missing.npz", "not found")


def test_per_layer_with_nothing_to_match(cli, models, tmp_path):
    fp32, _, data = models
    expect_error(edgekit(cli, "compare", fp32, fp32, "--data", data, "--per-layer"), "--per-layer",
                 "no quantized activation")
    dyn = tmp_path / "dyn.onnx"
    r = edgekit(cli, "quantize", fp32, "-o", dyn, "--mode", "dynamic")
    assert r.returncode == 0, r.stderr
    assert compare_json(cli, fp32, dyn, "--data", data)["outputs"][0]["sqnr_db"] != "inf"
    expect_error(edgekit(cli, "compare", fp32, dyn, "--data", data, "--per-layer"), "no quantized activation")


def test_bad_options(cli, models):
    fp32, q, data = models
    expect_error(edgekit(cli, "compare", fp32, q, "--data", data, "--limit", "0"), "--limit must be at least 1")
    expect_error(edgekit(cli, "compare", fp32, q, "--data", data, "--threads", "0"), "--threads")
    expect_error(edgekit(cli, "compare", fp32, q), "--data")
