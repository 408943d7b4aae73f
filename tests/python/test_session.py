"""The Python API: edgekit.Session, its inputs/outputs, run() and its errors, npy helpers."""
import numpy as np
import pytest

from pyhelpers import ZOO_MODEL, make_add_relu_model

edgekit = pytest.importorskip("edgekit", reason="Python package not built (make build; PYTHONPATH=build/python)")


@pytest.fixture
def add_relu(tmp_path):
    onnx = pytest.importorskip("onnx", reason="the onnx package writes the test model")
    return make_add_relu_model(tmp_path / "add_relu.onnx", onnx)


def test_version_and_error_type():
    assert isinstance(edgekit.__version__, str) and edgekit.__version__.count(".") == 2
    assert issubclass(edgekit.Error, RuntimeError)


def test_inputs_outputs(add_relu):
    s = edgekit.Session(add_relu)
    assert [i.name for i in s.inputs] == ["a", "b"]
    assert [o.name for o in s.outputs] == ["y:0", "s"]
    for v in s.inputs + s.outputs:
        assert v.dtype == np.float32
        assert v.shape == ["batch", 3]
    assert "ValueInfo(name='a'" in repr(s.inputs[0])


def test_run_dict_and_output_names(add_relu):
    s = edgekit.Session(str(add_relu), threads=1)
    a = np.array([[1, -2, 3], [-4, 5, -6]], np.float32)
    b = np.ones((2, 3), np.float32)
    y, s2 = s.run({"a": a, "b": b})
    np.testing.assert_array_equal(y, np.maximum(a + b, 0))
    np.testing.assert_array_equal(s2, a * 2)
    (only,) = s.run({"a": a, "b": b}, ["s"])
    np.testing.assert_array_equal(only, a * 2)
    # non-contiguous input is accepted (copied)
    y, _ = s.run({"a": np.asfortranarray(a), "b": b[:, :]})
    np.testing.assert_array_equal(y, np.maximum(a + b, 0))
    # the result outlives the session
    del s
    assert y.sum() == np.maximum(a + b, 0).sum()


@pytest.mark.parametrize(
    "feeds, words",
    [
        ({"a": np.zeros((1, 3), np.float64), "b": np.zeros((1, 3), np.float32)}, ["'a'", "f32", "f64"]),
        ({"a": np.zeros((1, 4), np.float32), "b": np.zeros((1, 3), np.float32)}, ["'a'", "shape", "[1,4]"]),
        ({"a": np.zeros((1, 3), np.float32)}, ["missing", "'b'"]),
        ({"a": np.zeros((1, 3), np.float32), "b": np.zeros((1, 3), np.float32), "c": np.zeros(1)}, ["unknown", "'c'"]),
        ({"a": np.array(["x", "y", "z"]), "b": np.zeros((1, 3), np.float32)}, ["'a'", "unsupported dtype"]),
    ],
)
def test_run_errors(add_relu, feeds, words):
    s = edgekit.Session(add_relu)
    with pytest.raises(edgekit.Error) as e:
        s.run(feeds)
    for w in words:
        assert w in str(e.value)


def test_bare_array_needs_single_input(add_relu):
    s = edgekit.Session(add_relu)
    with pytest.raises(edgekit.Error, match="2 inputs"):
        s.run(np.zeros((1, 3), np.float32))
    with pytest.raises(edgekit.Error, match="unknown output 'nope'"):
        s.run({"a": np.zeros((1, 3), np.float32), "b": np.zeros((1, 3), np.float32)}, ["nope"])


def test_session_errors(tmp_path):
    with pytest.raises(edgekit.Error, match="cannot open"):
        edgekit.Session(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07" + b"\xff" * 50)
    with pytest.raises(edgekit.Error, match="junk.onnx"):
        edgekit.Session(tmp_path / "junk.onnx")


def test_threads_validated(add_relu):
    with pytest.raises(edgekit.Error, match="threads"):
        edgekit.Session(add_relu, threads=0)
    with pytest.raises(edgekit.Error, match="threads"):
        edgekit.Session(add_relu, threads=100000)
    with pytest.raises(TypeError):
        edgekit.Session(add_relu, threads="2")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int32",
                                   "uint32", "int64", "uint64", "bool"])
def test_npy_roundtrip(tmp_path, dtype):
    a = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    edgekit.save_npy(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), a)
    np.save(tmp_path / "b.npy", a)
    b = edgekit.load_npy(tmp_path / "b.npy")
    assert b.dtype == a.dtype
    np.testing.assert_array_equal(b, a)


def test_npy_errors(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"nope")
    with pytest.raises(edgekit.Error, match="bad.npy"):
        edgekit.load_npy(tmp_path / "bad.npy")
    np.save(tmp_path / "be.npy", np.zeros(3, ">f4"))
    with pytest.raises(edgekit.Error, match=">f4"):
        edgekit.load_npy(tmp_path / "be.npy")


@pytest.mark.skipif(not (ZOO_MODEL / "model.onnx").exists(), reason=f"no zoo model at {ZOO_MODEL}")
def test_zoo_model_matches_reference():
    s = edgekit.Session(ZOO_MODEL / "model.onnx", threads=1)
    x = np.load(ZOO_MODEL / "input_0.npy")
    (y,) = s.run(x)
    ref = np.load(ZOO_MODEL / "output_0.npy")
    np.testing.assert_allclose(y, ref, rtol=1e-3, atol=1e-4 * float(np.abs(ref).max()))


def test_concurrent_runs_from_python_threads(add_relu):
    import threading

    s = edgekit.Session(add_relu)
    a = np.arange(300, dtype=np.float32).reshape(100, 3) - 150
    want = np.maximum(a + 1, 0)
    errors = []

    def work():
        for _ in range(50):
            y, _ = s.run({"a": a, "b": np.ones_like(a)})
            if not np.array_equal(y, want):
                errors.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
