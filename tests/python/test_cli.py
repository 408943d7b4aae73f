"""build/edgekit driven as a user would: --help everywhere, inspect/run/bench on a zoo model,
and bad input, which must give exit code != 0 and exactly one useful line on stderr."""
import json
import subprocess

import numpy as np
import pytest

from pyhelpers import CLI, MLPERF, ZOO_MODEL, expect_cli_error, make_add_relu_model, run_cli

MODEL = ZOO_MODEL / "model.onnx"
needs_zoo = pytest.mark.skipif(not MODEL.exists(), reason=f"no zoo model at {MODEL} (set EDGEKIT_ZOO_DIR)")


@pytest.fixture(scope="module")
def cli():
    if not CLI.exists():
        pytest.skip(f"{CLI} is not built (run make build)")
    return str(CLI)


edgekit = run_cli  # test_cli's name for it; other test files import both from here
expect_error = expect_cli_error


@pytest.mark.parametrize("sub", ["", "inspect", "run", "bench", "quantize", "compile", "compare"])
def test_help(cli, sub):
    r = edgekit(cli, *([sub] if sub else []), "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout and "--help" in r.stdout
    if sub:
        assert sub in r.stdout


def test_run_help_documents_file_names(cli):
    out = edgekit(cli, "run", "--help").stdout
    assert "A-Z a-z 0-9 . _ -" in out and "'_'" in out
    assert "--threads" in out and "--output-dir" in out


def test_no_arguments_and_unknown_command(cli):
    r = edgekit(cli)
    assert r.returncode == 2 and "inspect" in r.stdout
    expect_error(edgekit(cli, "frobnicate"), "unknown command 'frobnicate'", code=2)
    expect_error(edgekit(cli, "inspect", "x.onnx", "--bogus"), "--bogus", code=2)


@needs_zoo
def test_inspect(cli):
    r = edgekit(cli, "inspect", MODEL)
    assert r.returncode == 0, r.stderr
    for word in ["Format", "onnx", "Producer", "Opsets", "Parameters", "FLOPs", "Inputs", "Outputs", "Conv"]:
        assert word in r.stdout
    j = json.loads(edgekit(cli, "inspect", MODEL, "--json").stdout)
    assert j["format"] == "onnx"
    assert j["inputs"][0]["dtype"] == "f32" and isinstance(j["inputs"][0]["shape"][0], str)  # symbolic batch
    assert j["parameters"] > 0 and j["flops"] > 0 and j["ops"]["Conv"] >= 1
    assert j["file_size_bytes"] == MODEL.stat().st_size


@needs_zoo
def test_run_writes_outputs(cli, tmp_path):
    r = edgekit(cli, "run", MODEL, "--input", ZOO_MODEL / "input_0.npy", "--output-dir", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "output" in r.stdout and "mean" in r.stdout
    ref = np.load(ZOO_MODEL / "output_0.npy")
    got = np.load(tmp_path / "out" / "output.npy")
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4 * float(np.abs(ref).max()))
    # NAME=FILE, .npz by key, --json, threads
    np.savez(tmp_path / "in.npz", input=np.load(ZOO_MODEL / "input_0.npy"))
    for spec in [f"input={ZOO_MODEL / 'input_0.npy'}", tmp_path / "in.npz"]:
        r = edgekit(cli, "run", MODEL, "--input", spec, "-o", tmp_path, "--json", "--threads", "1")
        assert r.returncode == 0, r.stderr
        j = json.loads(r.stdout)
        (out,) = j["outputs"]
        assert out["name"] == "output" and out["dtype"] == "f32" and out["shape"] == list(ref.shape)
        assert abs(out["max"] - float(ref.max())) < 1e-3 * float(np.abs(ref).max())


@needs_zoo
def test_bench_json(cli):
    r = edgekit(cli, "bench", MODEL, "--runs", 3, "--warmup", 1, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)  # exactly one object
    for key in ["median", "p90", "min", "mean"]:
        assert j["latency_ms"][key] > 0
    assert j["latency_ms"]["min"] <= j["latency_ms"]["median"] <= j["latency_ms"]["p90"]
    assert j["peak_rss_mb"] > 0 and j["threads"] == 1 and j["runs"] == 3 and j["warmup"] == 1
    assert j["model"] == str(MODEL)
    assert r.stderr == ""  # no progress bar when stderr is not a terminal
    r = edgekit(cli, "bench", MODEL, "--runs", 2, "--input", ZOO_MODEL / "input_0.npy")
    assert r.returncode == 0 and "median" in r.stdout and "Peak RSS" in r.stdout


def test_multi_input_model(cli, tmp_path):
    onnx = pytest.importorskip("onnx", reason="the onnx package writes the test model")
    model = make_add_relu_model(tmp_path / "m.onnx", onnx)
    a = np.array([[1, -2, 3]], np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", np.ones_like(a))
    r = edgekit(cli, "run", model, "-i", f"a={tmp_path / 'a.npy'}", "-i", f"b={tmp_path / 'b.npy'}", "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    # the output "y:0" is saved as y_0.npy
    np.testing.assert_array_equal(np.load(tmp_path / "y_0.npy"), np.maximum(a + 1, 0))
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), a * 2)
    expect_error(edgekit(cli, "run", model, "-i", tmp_path / "a.npy"), "2 inputs", "NAME=")
    expect_error(edgekit(cli, "run", model, "-i", f"a={tmp_path / 'a.npy'}"), "missing input 'b'")
    j = json.loads(edgekit(cli, "inspect", model, "--json").stdout)
    assert [i["shape"] for i in j["inputs"]] == [["batch", 3], ["batch", 3]]
    r = edgekit(cli, "bench", model, "--runs", 2, "--json")
    assert r.returncode == 0, r.stderr


@pytest.fixture
def bad_files(tmp_path):
    np.save(tmp_path / "f64.npy", np.zeros((1, 1, 49, 10), np.float64))
    np.save(tmp_path / "shape.npy", np.zeros((1, 49, 10), np.float32))
    (tmp_path / "bad.npy").write_bytes(b"definitely not numpy")
    if MODEL.exists():
        (tmp_path / "trunc.onnx").write_bytes(MODEL.read_bytes()[:3000])
    return tmp_path


@needs_zoo
@pytest.mark.parametrize(
    "args, words",
    [
        (["run", "{d}/missing.onnx", "-i", "{x}"], ["missing.onnx", "cannot open"]),
        (["inspect", "{d}/missing.onnx"], ["missing.onnx", "cannot open"]),
        (["bench", "{d}/missing.onnx"], ["missing.onnx", "cannot open"]),
        (["run", "{d}/trunc.onnx", "-i", "{x}"], ["trunc.onnx"]),
        (["inspect", "{d}/trunc.onnx"], ["trunc.onnx"]),
        (["run", "{m}", "-i", "{d}/f64.npy"], ["f64.npy", "dtype", "f32", "f64"]),
        (["run", "{m}", "-i", "{d}/shape.npy"], ["shape.npy", "expected shape", "[1,49,10]"]),
        (["run", "{m}", "-i", "nope={x}"], ["unknown input 'nope'", "'input'"]),
        (["run", "{m}", "-i", "{d}/bad.npy"], ["bad.npy", "not a .npy"]),
        (["run", "{m}", "-i", "{d}/absent.npy"], ["absent.npy", "not found"]),
        (["bench", "{m}", "-i", "{d}/bad.npy"], ["bad.npy"]),
        (["run", "{m}", "-i", "{x}", "--threads", "0"], ["--threads", "at least 1", "got 0"]),
        (["bench", "{m}", "--threads", "-3"], ["--threads", "got -3"]),
        (["bench", "{m}", "--threads", "100000"], ["--threads", "maximum"]),
        (["bench", "{m}", "--runs", "0"], ["--runs"]),
        (["run", "{m}", "-i", "{x}", "-o", "/dev/null/out"], ["/dev/null/out", "output directory"]),
    ],
)
def test_bad_input(cli, bad_files, args, words):
    fmt = {"d": bad_files, "m": MODEL, "x": ZOO_MODEL / "input_0.npy"}
    r = edgekit(cli, *[a.format(**fmt) for a in args])
    expect_error(r, *words, code=1)


def test_unsupported_op_is_inspectable_but_not_runnable(cli, tmp_path):
    onnx = pytest.importorskip("onnx", reason="the onnx package writes the test model")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Frobnicate", ["x"], ["y"], name="frob", domain="com.example")],
                              "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "frob.onnx"))
    r = edgekit(cli, "inspect", tmp_path / "frob.onnx")
    assert r.returncode == 0, r.stderr
    assert "com.example:Frobnicate" in r.stdout and "unsupported" in r.stdout
    j = json.loads(edgekit(cli, "inspect", tmp_path / "frob.onnx", "--json").stdout)
    assert j["unsupported_ops"] == ["com.example:Frobnicate"]
    np.save(tmp_path / "x.npy", np.zeros(2, np.float32))
    expect_error(edgekit(cli, "run", tmp_path / "frob.onnx", "-i", tmp_path / "x.npy"), "Frobnicate", code=1)


@needs_zoo
def test_npz_with_one_unnamed_array(cli, tmp_path):
    np.savez(tmp_path / "x.npz", np.load(ZOO_MODEL / "input_0.npy"))  # stored as arr_0
    r = edgekit(cli, "run", MODEL, "-i", tmp_path / "x.npz", "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "output.npy").exists()


TFLITE = MLPERF / "vww_96_float.tflite"


@pytest.mark.skipif(not TFLITE.exists(), reason=f"no MLPerf Tiny model at {TFLITE}")
def test_tflite_model(cli, tmp_path):
    j = json.loads(edgekit(cli, "inspect", TFLITE, "--json").stdout)
    assert j["format"] == "tflite" and j["inputs"][0]["shape"] == [1, 96, 96, 3] and j["flops"] > 0
    r = edgekit(cli, "bench", TFLITE, "--runs", 2, "--warmup", 0, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["latency_ms"]["median"] > 0
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((1, 96, 96, 3), np.float32))
    r = edgekit(cli, "run", TFLITE, "-i", tmp_path / "x.npy", "-o", tmp_path, "--json")
    assert r.returncode == 0, r.stderr
    (out,) = json.loads(r.stdout)["outputs"]
    y = np.load(out["file"])
    assert y.shape == (1, 2) and abs(float(y.sum()) - 1) < 1e-4  # softmax over two classes


def test_flops_of_known_graph(cli, tmp_path):
    onnx = pytest.importorskip("onnx", reason="the onnx package writes the test model")
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])
    inits = [numpy_helper.from_array(np.zeros(shape, np.float32), name)
             for name, shape in [("w", (4, 3, 3, 3)), ("b", (4,)), ("fc", (256, 10))]]
    inits.append(numpy_helper.from_array(np.array([-1, 256], np.int64), "shape"))
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),  # [N,4,8,8]
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Reshape", ["r", "shape"], ["flat"]),  # [N,256]
        helper.make_node("MatMul", ["flat", "fc"], ["y"]),  # [N,10]
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializer=inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "m.onnx"))
    j = json.loads(edgekit(cli, "inspect", tmp_path / "m.onnx", "--json").stdout)
    conv = 2 * 256 * 27 + 256  # 2 x outputs x (C x kh x kw) + bias
    assert j["flops_by_op"]["Conv"] == conv
    assert j["flops_by_op"]["Relu"] == 256
    assert j["flops_by_op"]["MatMul"] == 2 * 10 * 256
    assert j["flops"] == conv + 256 + 2 * 10 * 256
    assert j["parameters"] == 4 * 27 + 4 + 2560 + 2


@needs_zoo
def test_bench_progress_bar_on_a_terminal(cli):
    import os
    import pty
    import time

    # Enough runs for about 3.5 s whatever the speed of the build, past the 2 s before the bar shows.
    probe = json.loads(subprocess.run([cli, "bench", str(MODEL), "--runs", "50", "--json"], capture_output=True,
                                      text=True, timeout=120).stdout)
    runs = max(100, int(3.5 / (probe["latency_ms"]["median"] / 1000)))
    master, slave = pty.openpty()
    try:
        start = time.monotonic()
        p = subprocess.Popen([cli, "bench", str(MODEL), "--runs", str(runs), "--warmup", "0", "--json"],
                             stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        slave = None
        out, _ = p.communicate(timeout=300)
        elapsed = time.monotonic() - start
        tty = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    assert p.returncode == 0
    assert json.loads(out)["runs"] == runs  # stdout stays pure JSON
    if elapsed > 3:  # bar drawn from 2 s on, at most every 100 ms
        assert b"[#" in tty and f"/{runs}".encode() in tty, tty[-300:]
        assert tty.endswith(b"\r\x1b[K"), tty[-50:]  # the bar is erased at the end
    else:
        pytest.skip(f"bench took {elapsed:.1f} s, too fast to show the bar")
