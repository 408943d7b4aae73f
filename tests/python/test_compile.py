"""edgekit compile and the .ekm format end to end: the zoo compiled to .ekm gives the outputs it
gives from ONNX, the CLI and the Python package open .ekm like ONNX, metadata survives, and
bad options and damaged files fail with one clear line."""
import json
import struct

import numpy as np
import pytest

from pyhelpers import ZOO, ZOO_MODEL, expect_cli_error as expect_error, run_cli as edgekit

edgekit_py = pytest.importorskip("edgekit", reason="Python package not built (make build; PYTHONPATH=build/python)")
MODEL = ZOO_MODEL / "model.onnx"
needs_zoo = pytest.mark.skipif(not MODEL.exists(), reason=f"no zoo model at {MODEL} (set EDGEKIT_ZOO_DIR)")



def zoo_inputs(folder, session):
    """The zoo's recorded inputs (input_0.npy, ...) by model input name."""
    return {info.name: np.load(folder / f"input_{i}.npy") for i, info in enumerate(session.inputs)}


def zoo_models():
    return sorted(p.parent for p in ZOO.glob("*/model.onnx")) if ZOO.is_dir() else []


@needs_zoo
@pytest.mark.parametrize("folder", zoo_models(), ids=lambda p: p.name)
def test_zoo_compiled_gives_the_same_outputs(cli, tmp_path, folder):
    ekm = tmp_path / f"{folder.name}.ekm"
    r = edgekit(cli, "compile", folder / "model.onnx", "-o", ekm, "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["file_bytes"] == ekm.stat().st_size
    assert len(info["sha256"]) == 64
    onnx_session = edgekit_py.Session(str(folder / "model.onnx"))
    ekm_session = edgekit_py.Session(str(ekm))
    feeds = zoo_inputs(folder, onnx_session)
    want, got = onnx_session.run(feeds), ekm_session.run(feeds)
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert w.dtype == g.dtype and w.shape == g.shape
        # Same graph, same kernels, same thread count: the same bits.
        np.testing.assert_array_equal(w, g)


@needs_zoo
def test_compile_stores_metadata_and_plan_and_inspect_shows_them(cli, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"word{i}" for i in range(12)) + "\n")
    ekm = tmp_path / "kws.ekm"
    r = edgekit(cli, "compile", MODEL, "-o", ekm, "--name", "kws", "--model-version", "1.2", "--author", "tests",
                "--description", "keyword spotting", "--labels", labels, "--sample-rate", "16000", "--threads-hint", "2")
    assert r.returncode == 0, r.stderr
    assert "Compiled" in r.stdout and "arena" in r.stdout and "sha256" in r.stdout
    r = edgekit(cli, "inspect", ekm, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["format"] == "ekm"
    e = j["ekm"]
    assert e["name"] == "kws" and e["version"] == "1.2" and e["author"] == "tests"
    assert e["labels"][:2] == ["word0", "word1"] and len(e["labels"]) == 12
    assert e["preprocessing"]["sample_rate"] == 16000
    assert e["threads_hint"] == 2 and e["opt_level"] == 3
    assert e["memory_plan"]["arena_bytes"] > 0
    assert e["memory_plan"]["arena_bytes"] <= e["memory_plan"]["naive_bytes"]
    assert e["memory_plan"]["input_shapes"] == {"input": [1, 1, 49, 10]}
    # The stored plan is the one the runtime makes for those shapes.
    r = edgekit(cli, "inspect", ekm, "--plan", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["memory_plan"]["arena_bytes"] == e["memory_plan"]["arena_bytes"]
    r = edgekit(cli, "inspect", ekm)
    assert r.returncode == 0, r.stderr
    assert "kws" in r.stdout and "format version 4" in r.stdout


@needs_zoo
def test_run_and_bench_accept_ekm(cli, tmp_path):
    ekm = tmp_path / "m.ekm"
    assert edgekit(cli, "compile", MODEL, "-o", ekm).returncode == 0
    out = tmp_path / "out"
    r = edgekit(cli, "run", ekm, "--input", ZOO_MODEL / "input_0.npy", "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    produced = json.loads(r.stdout)["outputs"][0]
    want = np.load(ZOO_MODEL / "output_0.npy")
    np.testing.assert_allclose(np.load(produced["file"]), want, rtol=1e-4, atol=1e-5)
    r = edgekit(cli, "bench", ekm, "--runs", "5", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["latency_ms"]["median"] > 0


@needs_zoo
def test_compile_at_opt_level_0_keeps_the_graph(cli, tmp_path):
    ekm = tmp_path / "o0.ekm"
    r = edgekit(cli, "compile", MODEL, "-o", ekm, "--opt-level", "0", "--json")
    assert r.returncode == 0, r.stderr
    compiled = json.loads(r.stdout)["nodes"]
    onnx_nodes = json.loads(edgekit(cli, "inspect", MODEL, "--json").stdout)["nodes"]
    assert compiled == onnx_nodes


@needs_zoo
@pytest.mark.parametrize(
    "args, words",
    [
        (["--mean", "0.5,x"], ["--mean", "'x' is not a number"]),
        (["--mean", "0.5,0.5", "--std", "1"], ["--mean has 2 values but --std has 1"]),
        (["--std", "0"], ["--std", "positive"]),
        (["--layout", "CHW"], ["--layout CHW", "NCHW or NHWC"]),
        (["--image-size", "0x3"], ["--image-size 0x3", "positive"]),
        (["--image-size", "wide"], ["--image-size wide", "WIDTHxHEIGHT"]),
        (["--labels", "/nonexistent/labels.txt"], ["--labels /nonexistent/labels.txt", "cannot open"]),
        (["--opt-level", "7"], ["opt-level"]),
    ],
)
def test_bad_compile_options(cli, tmp_path, args, words):
    r = edgekit(cli, "compile", MODEL, "-o", tmp_path / "x.ekm", *args)
    expect_error(r, *words)
    assert not (tmp_path / "x.ekm").exists()


def test_compile_missing_model(cli, tmp_path):
    r = edgekit(cli, "compile", tmp_path / "none.onnx", "-o", tmp_path / "x.ekm")
    expect_error(r, "none.onnx", "cannot open")


@needs_zoo
def test_damaged_ekm_files_are_named(cli, tmp_path):
    ekm = tmp_path / "m.ekm"
    assert edgekit(cli, "compile", MODEL, "-o", ekm).returncode == 0
    good = ekm.read_bytes()

    flipped = bytearray(good)
    flipped[-1] ^= 0x40
    (tmp_path / "flipped.ekm").write_bytes(flipped)
    expect_error(edgekit(cli, "run", tmp_path / "flipped.ekm", "--input", ZOO_MODEL / "input_0.npy"),
                 "flipped.ekm", "content hash mismatch")

    newer = bytearray(good)
    newer[8:12] = struct.pack("<I", 99)
    (tmp_path / "newer.ekm").write_bytes(newer)
    expect_error(edgekit(cli, "inspect", tmp_path / "newer.ekm"), "newer.ekm", "format version 99 is newer")

    (tmp_path / "cut.ekm").write_bytes(good[: len(good) // 2])
    expect_error(edgekit(cli, "bench", tmp_path / "cut.ekm"), "cut.ekm", "truncated")

    with pytest.raises(edgekit_py.Error, match="content hash mismatch"):
        edgekit_py.Session(str(tmp_path / "flipped.ekm"))

    # --no-verify / verify=False skip the hash (a weight bit flipped then goes unseen), not the
    # other checks.
    r = edgekit(cli, "run", tmp_path / "flipped.ekm", "--input", ZOO_MODEL / "input_0.npy", "--no-verify",
                "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert edgekit_py.Session(str(tmp_path / "flipped.ekm"), verify=False).outputs
    expect_error(edgekit(cli, "bench", tmp_path / "newer.ekm", "--no-verify"), "newer.ekm", "format version 99 is newer")
    expect_error(edgekit(cli, "bench", tmp_path / "cut.ekm", "--no-verify"), "cut.ekm", "truncated")
    with pytest.raises(TypeError, match="verify must be a bool"):
        edgekit_py.Session(str(ekm), verify="no")


@needs_zoo
def test_quantize_writes_ekm_that_matches_the_qdq_onnx(cli, tmp_path):
    calib = tmp_path / "calib.npz"
    rng = np.random.default_rng(0)
    np.savez(calib, input=rng.standard_normal((16, 1, 49, 10)).astype(np.float32))
    qdq, ekm = tmp_path / "q.onnx", tmp_path / "q.ekm"
    for out, fmt in [(qdq, "onnx"), (ekm, "ekm")]:
        r = edgekit(cli, "quantize", MODEL, "-o", out, "--mode", "static", "--calibration", calib, "--format", fmt)
        assert r.returncode == 0, r.stderr
    assert json.loads(edgekit(cli, "inspect", ekm, "--json").stdout)["format"] == "ekm"
    feeds = {"input": np.load(ZOO_MODEL / "input_0.npy")}
    want = edgekit_py.Session(str(qdq)).run(feeds)[0]
    got = edgekit_py.Session(str(ekm)).run(feeds)[0]
    np.testing.assert_array_equal(want, got)  # the same int8 kernels either way
    expect_error(edgekit(cli, "quantize", MODEL, "-o", tmp_path / "x", "--mode", "static", "--calibration", calib,
                         "--format", "tflite"), "--format tflite", "onnx or ekm")


def test_int8_mobilenet_v3_ekm_carries_qmul(cli, tmp_path):
    """MobileNetV3's squeeze-excitation Muls run as com.edgekit:QMul and its 19 HardSwish
    x * HardSigmoid(x) as one QLookup each (its table an initializer); the compiled .ekm holds
    them and runs bit for bit what the QDQ ONNX runs."""
    folder = ZOO / "mobilenet_v3_small"
    if not (folder / "model.onnx").exists():
        pytest.skip(f"no {folder}/model.onnx (make fixtures)")
    x = np.load(folder / "input_0.npy")
    calib = tmp_path / "calib.npz"
    np.savez(calib, input=np.random.default_rng(0).standard_normal((4,) + x.shape[1:]).astype(np.float32))
    qdq, ekm = tmp_path / "q.onnx", tmp_path / "q.ekm"
    assert edgekit(cli, "quantize", folder / "model.onnx", "-o", qdq, "--calibration", calib).returncode == 0
    r = edgekit(cli, "compile", qdq, "-o", ekm)
    assert r.returncode == 0, r.stderr
    ops = json.loads(edgekit(cli, "inspect", ekm, "--json").stdout)["ops"]
    assert ops.get("com.edgekit:QMul") == 9 and ops.get("com.edgekit:QLookup") == 28 and "Mul" not in ops, ops
    session = edgekit_py.Session(str(qdq))
    feeds = {session.inputs[0].name: x}
    np.testing.assert_array_equal(session.run(feeds)[0], edgekit_py.Session(str(ekm)).run(feeds)[0])
