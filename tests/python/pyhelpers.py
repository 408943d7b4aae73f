"""Shared by the Python tests: where the build and the zoo are, and a tiny ONNX model maker."""
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from conftest import BUILD, CLI, MLPERF, ZOO as _CONFTEST_ZOO  # noqa: E402,F401

# The zoo: $EDGEKIT_ZOO_DIR, else the Makefile's fixtures, else where the lead exported it.
if os.environ.get("EDGEKIT_ZOO_DIR"):
    ZOO = pathlib.Path(os.environ["EDGEKIT_ZOO_DIR"])
elif _CONFTEST_ZOO.is_dir():
    ZOO = _CONFTEST_ZOO
else:
    ZOO = pathlib.Path("/tmp/ek/zoo")
ZOO_MODEL = ZOO / "kws_dscnn"  # small and fast: a good smoke test

if (BUILD / "python" / "edgekit").is_dir() and str(BUILD / "python") not in sys.path:
    sys.path.insert(0, str(BUILD / "python"))


def make_add_relu_model(path, onnx):
    """y = Relu(a + b) and s = a * 2 for a, b: float32 [batch, 3]; written with the onnx package."""
    from onnx import TensorProto, helper

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y:0", TensorProto.FLOAT, ["batch", 3])
    s = helper.make_tensor_value_info("s", TensorProto.FLOAT, ["batch", 3])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    nodes = [
        helper.make_node("Add", ["a", "b"], ["sum"], name="add"),
        helper.make_node("Relu", ["sum"], ["y:0"], name="relu"),
        helper.make_node("Mul", ["a", "two"], ["s"], name="mul"),
    ]
    graph = helper.make_graph(nodes, "add_relu", [a, b], [y, s], initializer=[two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="edgekit-tests")
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def run_cli(cli, *args, timeout=600):
    """build/edgekit with args (paths allowed), output captured as text."""
    import subprocess

    return subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def expect_cli_error(r, *words, code=None):
    """The CLI failed with exactly one line on stderr, 'edgekit: error: ...', containing every word."""
    assert r.returncode != 0, f"expected failure, got 0; stdout: {r.stdout}"
    if code is not None:
        assert r.returncode == code, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {r.stderr!r}"
    assert lines[0].startswith("edgekit: error: "), lines[0]
    for w in words:
        assert w in lines[0], f"{w!r} not in {lines[0]!r}"


def make_cnn(path, input_name="x", input_dtype=None, input_shape=("N", 1, 8, 8), output_name="logits",
             hidden="h", seed=0):
    """x -> Conv 3x3 (4) -> Relu -> Conv 3x3 (8) -> Relu -> GlobalAveragePool -> Flatten -> Gemm (5)."""
    import numpy as np
    import pytest

    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)

    def init(name, *shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.5).astype(np.float32), name)

    inits = [init("w1", 4, 1, 3, 3), init("b1", 4), init("w2", 8, 4, 3, 3), init("b2", 8), init("w3", 5, 8),
             init("b3", 5)]
    nodes = [
        helper.make_node("Conv", [input_name, "w1", "b1"], [f"{hidden}1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", [f"{hidden}1"], [f"{hidden}1r"], name="relu1"),
        helper.make_node("Conv", [f"{hidden}1r", "w2", "b2"], [f"{hidden}2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", [f"{hidden}2"], [f"{hidden}2r"], name="relu2"),
        helper.make_node("GlobalAveragePool", [f"{hidden}2r"], [f"{hidden}3"], name="gap"),
        helper.make_node("Flatten", [f"{hidden}3"], [f"{hidden}4"], name="flatten"),
        helper.make_node("Gemm", [f"{hidden}4", "w3", "b3"], [output_name], name="fc", transB=1),
    ]
    x = helper.make_tensor_value_info(input_name, input_dtype or TensorProto.FLOAT, list(input_shape))
    y = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [input_shape[0], 5])
    graph = helper.make_graph(nodes, "cnn", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="edgekit-tests")
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
