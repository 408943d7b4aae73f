"""One-op .tflite models written here with the flatbuffers Python builder (a dependency of
ai-edge-litert), run through the TFLite interpreter and through edgekit's Python package on the
same seeded inputs. They pin the import's semantics for what the MLPerf Tiny models do not
exercise: SAME/VALID padding with strides and dilations, depth multipliers, pool padding,
fused activations, keep_num_dims, reduction, slicing masks and layout ops."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conftest import BUILD  # noqa: E402

if (BUILD / "python" / "edgekit").is_dir() and str(BUILD / "python") not in sys.path:
    sys.path.insert(0, str(BUILD / "python"))

RTOL = 1e-5
F32, I32 = 0, 2  # TensorType
SAME, VALID = 0, 1
NONE, RELU, RELU_N1_TO_1, RELU6 = 0, 1, 2, 3


class Model:
    """Tensors and operators of one subgraph; write() gives the .tflite bytes."""

    def __init__(self):
        self.tensors, self.ops, self.inputs, self.outputs = [], [], [], []

    def tensor(self, name, shape, data=None, dtype=np.float32, is_input=False):
        self.tensors.append((name, list(shape), None if data is None else np.asarray(data, dtype), dtype))
        if is_input:
            self.inputs.append(len(self.tensors) - 1)
        return len(self.tensors) - 1

    def op(self, code, inputs, outputs, options_type=0, options=None):
        """options: [(field index, kind, value)], kind one of i8 i32 f32 bool ivec."""
        self.ops.append((code, inputs, outputs, options_type, options or []))

    def write(self):
        flatbuffers = pytest.importorskip("flatbuffers")
        b = flatbuffers.Builder(1024)

        def ivec(values):
            return b.CreateNumpyVector(np.asarray(values, np.int32))

        def offsets(offs):
            b.StartVector(4, len(offs), 4)
            for o in reversed(offs):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        def table(fields):
            pre = {i: ivec(v) for i, kind, v in fields if kind == "ivec"}
            b.StartObject(16)
            for i, kind, v in fields:
                {"i8": b.PrependInt8Slot, "i32": b.PrependInt32Slot, "f32": b.PrependFloat32Slot,
                 "bool": b.PrependBoolSlot, "u8": b.PrependUint8Slot, "u32": b.PrependUint32Slot,
                 "ivec": lambda i, v, d: b.PrependUOffsetTRelativeSlot(i, pre[i], 0),
                 "off": b.PrependUOffsetTRelativeSlot}[kind](i, v, 0)
            return b.EndObject()

        buffers, buffer_of = [table([])], []
        for _, _, data, _ in self.tensors:
            if data is None:
                buffer_of.append(0)
                continue
            raw = data.tobytes()
            b.StartVector(1, len(raw), 16)
            b.head -= len(raw)
            b.Bytes[b.head:b.head + len(raw)] = raw
            vec = b.EndVector()
            buffer_of.append(len(buffers))
            buffers.append(table([(0, "off", vec)]))
        tensors = []
        for (name, shape, _, dtype), buf in zip(self.tensors, buffer_of):
            n, s = b.CreateString(name), ivec(shape)
            ttype = F32 if dtype == np.float32 else I32
            tensors.append(table([(0, "off", s), (1, "i8", ttype), (2, "u32", buf), (3, "off", n)]))
        codes = sorted({op[0] for op in self.ops})
        code_tables = [table([(0, "i8", min(c, 127)), (2, "i32", 1), (3, "i32", c)]) for c in codes]
        ops = []
        for code, ins, outs, otype, opts in self.ops:
            o = table(opts) if otype else None
            fields = [(0, "u32", codes.index(code)), (1, "off", ivec(ins)), (2, "off", ivec(outs))]
            if otype:
                fields += [(3, "u8", otype), (4, "off", o)]
            ops.append(table(fields))
        sg = table([(0, "off", offsets(tensors)), (1, "off", ivec(self.inputs)), (2, "off", ivec(self.outputs)),
                    (3, "off", offsets(ops)), (4, "off", b.CreateString("main"))])
        model = table([(0, "u32", 3), (1, "off", offsets(code_tables)), (2, "off", offsets([sg])),
                       (3, "off", b.CreateString("edgekit op test")), (4, "off", offsets(buffers))])
        b.Finish(model, file_identifier=b"TFL3")
        return bytes(b.Output())


def compare(model, tmp_path, seed=0):
    edgekit = pytest.importorskip("edgekit", reason="Python package not built (make build)")
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert is the reference")
    path = tmp_path / "op.tflite"
    path.write_bytes(model.write())
    # TFLite's own kernels, not the XNNPACK delegate: the delegate accepts (and ignores) things
    # the reference kernels refuse, such as a fused activation on CONCATENATION.
    it = litert.Interpreter(model_path=str(path),
                            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    rng = np.random.default_rng(seed)
    feeds = {}
    for d in it.get_input_details():
        x = rng.standard_normal(d["shape"]).astype(np.float32)
        it.set_tensor(d["index"], x)
        feeds[d["name"]] = x
    it.invoke()
    want = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    s = edgekit.Session(str(path))
    got = s.run(feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape, f"shape {g.shape}, TFLite gives {w.shape}"
        err = float(np.max(np.abs(g.astype(np.float64) - w))) if w.size else 0.0
        assert err <= RTOL * max(float(np.max(np.abs(w))) if w.size else 0.0, 1.0), f"max error {err:.3g}"


def weights(shape, seed):
    return np.random.default_rng(100 + seed).standard_normal(shape).astype(np.float32)


CONV_CASES = {  # x shape, filter OHWI, padding, stride (h, w), dilation (h, w), activation
    "same_s2x1_relu": ((1, 7, 9, 3), (4, 3, 2, 3), SAME, (2, 1), (1, 1), RELU),
    "valid_dil2": ((1, 8, 8, 2), (3, 3, 3, 2), VALID, (1, 1), (2, 2), NONE),
    "same_s2_relu6": ((1, 8, 7, 1), (2, 4, 3, 1), SAME, (2, 2), (1, 1), RELU6),
    "same_dil2_s1": ((1, 9, 6, 2), (2, 3, 3, 2), SAME, (1, 1), (2, 1), RELU_N1_TO_1),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv2d(case, tmp_path):
    xs, fs, pad, (sh, sw), (dh, dw), act = CONV_CASES[case]
    m = Model()
    x = m.tensor("x", xs, is_input=True)
    w = m.tensor("w", fs, weights(fs, 0))
    bias = m.tensor("b", fs[:1], weights(fs[:1], 1))
    eff = [(fs[1] - 1) * dh + 1, (fs[2] - 1) * dw + 1]
    out = [-(-xs[1] // sh), -(-xs[2] // sw)] if pad == SAME else \
        [(xs[1] - eff[0]) // sh + 1, (xs[2] - eff[1]) // sw + 1]
    y = m.tensor("y", (1, out[0], out[1], fs[0]))
    m.inputs, m.outputs = [x], [y]
    m.op(3, [x, w, bias], [y], 1, [(0, "i8", pad), (1, "i32", sw), (2, "i32", sh), (3, "i8", act),
                                   (4, "i32", dw), (5, "i32", dh)])
    compare(m, tmp_path)


@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_conv2d(multiplier, tmp_path):
    m = Model()
    x = m.tensor("x", (1, 7, 6, 3), is_input=True)
    fs = (1, 3, 3, 3 * multiplier)
    w = m.tensor("w", fs, weights(fs, 2))
    bias = m.tensor("b", fs[3:], weights(fs[3:], 3))
    y = m.tensor("y", (1, 4, 3, fs[3]))
    m.outputs = [y]
    m.op(4, [x, w, bias], [y], 2, [(0, "i8", SAME), (1, "i32", 2), (2, "i32", 2), (3, "i32", multiplier),
                                   (4, "i8", RELU6)])
    compare(m, tmp_path)


@pytest.mark.parametrize("code,padding", [(1, SAME), (1, VALID), (17, SAME), (17, VALID)])
def test_pools(code, padding, tmp_path):
    m = Model()
    x = m.tensor("x", (1, 7, 8, 2), is_input=True)
    out = (4, 4) if padding == SAME else (3, 3)
    y = m.tensor("y", (1, *out, 2))
    m.outputs = [y]
    m.op(code, [x], [y], 5, [(0, "i8", padding), (1, "i32", 2), (2, "i32", 2), (3, "i32", 3), (4, "i32", 3)])
    compare(m, tmp_path)


@pytest.mark.parametrize("keep", [False, True])
def test_fully_connected(keep, tmp_path):
    m = Model()
    x = m.tensor("x", (2, 3, 4), is_input=True)
    w = m.tensor("w", (5, 4), weights((5, 4), 4))
    bias = m.tensor("b", (5,), weights((5,), 5))
    y = m.tensor("y", (2, 3, 5) if keep else (6, 5))
    m.outputs = [y]
    m.op(9, [x, w, bias], [y], 8, [(0, "i8", RELU), (2, "bool", keep)])
    compare(m, tmp_path)


@pytest.mark.parametrize("code,otype,act", [(0, 11, RELU), (41, 28, NONE), (18, 21, RELU_N1_TO_1), (42, 29, NONE)])
def test_binary_broadcast(code, otype, act, tmp_path):
    m = Model()
    a = m.tensor("a", (2, 3, 4), is_input=True)
    b = m.tensor("b", (3, 1), is_input=True)
    y = m.tensor("y", (2, 3, 4))
    m.outputs = [y]
    m.op(code, [a, b], [y], otype, [(0, "i8", act)])
    compare(m, tmp_path)


def test_concat_softmax_reshape(tmp_path):
    m = Model()
    a = m.tensor("a", (2, 3), is_input=True)
    b = m.tensor("b", (2, 2), is_input=True)
    c = m.tensor("c", (2, 5))
    s = m.tensor("s", (2, 5))
    shape = m.tensor("shape", (2,), [5, 2], np.int32)
    r = m.tensor("r", (5, 2))
    m.outputs = [r]
    m.op(2, [a, b], [c], 10, [(0, "i32", -1)])
    m.op(25, [c], [s], 9, [(0, "f32", 0.5)])
    m.op(22, [s, shape], [r], 17, [(0, "ivec", [5, 2])])
    compare(m, tmp_path)


def test_mean_pad_transpose_squeeze(tmp_path):
    m = Model()
    x = m.tensor("x", (1, 4, 5, 3), is_input=True)
    paddings = m.tensor("paddings", (4, 2), [[0, 0], [1, 2], [0, 1], [0, 0]], np.int32)
    p = m.tensor("p", (1, 7, 6, 3))
    axes = m.tensor("axes", (2,), [1, 2], np.int32)
    mean = m.tensor("mean", (1, 1, 1, 3))
    perm = m.tensor("perm", (4,), [3, 1, 2, 0], np.int32)
    t = m.tensor("t", (3, 1, 1, 1))
    sq = m.tensor("sq", (3, 1))
    m.outputs = [sq]
    m.op(34, [x, paddings], [p], 22)
    m.op(40, [p, axes], [mean], 27, [(0, "bool", True)])
    m.op(39, [mean, perm], [t], 26)
    m.op(43, [t], [sq], 30, [(0, "ivec", [1, 2])])
    compare(m, tmp_path)


SLICE_CASES = {  # begin, end, strides, begin_mask, end_mask, shrink_axis_mask, output shape
    "plain": ([0, 1, 0], [2, 3, 4], [1, 1, 2], 0, 0, 0, (2, 2, 2)),
    "masks_negative_stride": ([1, 0, -1], [2, 2, 0], [1, 1, -1], 1, 0, 0, (2, 2, 4)),
    "shrink": ([1, -1, 0], [2, 0, 5], [1, 1, 1], 0, 4, 2, (1, 5)),
    "end_mask_reverse": ([0, 2, 3], [0, 0, 0], [1, -1, -2], 0, 7, 0, (2, 3, 2)),
}


@pytest.mark.parametrize("case", sorted(SLICE_CASES))
def test_strided_slice(case, tmp_path):
    begin, end, strides, bm, em, shrink, out = SLICE_CASES[case]
    m = Model()
    x = m.tensor("x", (2, 3, 5), is_input=True)
    bt = m.tensor("begin", (3,), begin, np.int32)
    et = m.tensor("end", (3,), end, np.int32)
    st = m.tensor("strides", (3,), strides, np.int32)
    y = m.tensor("y", out)
    m.outputs = [y]
    m.op(45, [x, bt, et, st], [y], 32, [(0, "i32", bm), (1, "i32", em), (4, "i32", shrink)])
    compare(m, tmp_path)


@pytest.mark.parametrize("code", [14, 28, 19, 21, 20])  # LOGISTIC TANH RELU RELU6 RELU_N1_TO_1
def test_activations(code, tmp_path):
    m = Model()
    x = m.tensor("x", (2, 7), is_input=True)
    y = m.tensor("y", (2, 7))
    m.outputs = [y]
    m.op(code, [x], [y])
    compare(m, tmp_path)


# code, options type, options, outputs of the op on x[2,3,4] (or None: same shape as x)
UNARY_CASES = {
    "exp": (47, 0, [], None), "abs": (101, 0, [], None), "neg": (59, 0, [], None),
    "floor": (8, 0, [], None), "ceil": (104, 0, [], None), "sin": (66, 0, [], None), "cos": (108, 0, [], None),
    "square": (92, 0, [], None), "hard_swish": (117, 0, [], None), "elu": (111, 0, [], None),
    "leaky_relu": (98, 75, [(0, "f32", 0.2)], None), "log_softmax": (50, 36, [], None),
    "squeeze_all": (43, 30, [], None),
}


@pytest.mark.parametrize("case", sorted(UNARY_CASES))
def test_unary(case, tmp_path):
    code, otype, opts, _ = UNARY_CASES[case]
    m = Model()
    x = m.tensor("x", (2, 3, 4), is_input=True)
    y = m.tensor("y", (2, 3, 4))
    m.outputs = [y]
    m.op(code, [x], [y], otype, opts)
    compare(m, tmp_path)


def test_positive_input_ops(tmp_path):
    # LOG, SQRT, RSQRT on |x| + 0.5 (made by ABS then ADD of a constant)
    m = Model()
    x = m.tensor("x", (3, 4), is_input=True)
    a = m.tensor("a", (3, 4))
    half = m.tensor("half", (1,), [0.5])
    p = m.tensor("p", (3, 4))
    outs = [m.tensor(n, (3, 4)) for n in ("log", "sqrt", "rsqrt")]
    m.outputs = outs
    m.op(101, [x], [a])
    m.op(0, [a, half], [p], 11, [])
    for code, o in zip((73, 75, 76), outs):
        m.op(code, [p], [o])
    compare(m, tmp_path)


REDUCE_CASES = {  # code, axes, keep_dims, output shape for x[2,3,4]
    "mean": (40, [2], False, (2, 3)), "sum": (74, [0, -1], True, (1, 3, 1)),
    "max": (82, [1], False, (2, 4)), "min": (89, [1, 2], True, (2, 1, 1)), "prod": (81, [0], False, (3, 4)),
}


@pytest.mark.parametrize("case", sorted(REDUCE_CASES))
def test_reduce(case, tmp_path):
    code, axes, keep, out = REDUCE_CASES[case]
    m = Model()
    x = m.tensor("x", (2, 3, 4), is_input=True)
    ax = m.tensor("axes", (len(axes),), axes, np.int32)
    y = m.tensor("y", out)
    m.outputs = [y]
    m.op(code, [x, ax], [y], 27, [(0, "bool", keep)])
    compare(m, tmp_path)


def test_binary_without_options(tmp_path):
    m = Model()
    a = m.tensor("a", (2, 3), is_input=True)
    b = m.tensor("b", (1, 3), is_input=True)
    outs = [m.tensor(n, (2, 3)) for n in ("max", "min", "sqdiff", "prelu")]
    m.outputs = outs
    for code, o in zip((55, 57, 99, 54), outs):
        m.op(code, [a, b], [o])
    compare(m, tmp_path)


def test_slice_gather_expand_split_padv2_mirror(tmp_path):
    m = Model()
    x = m.tensor("x", (4, 5), is_input=True)
    begin = m.tensor("begin", (2,), [1, 0], np.int32)
    size = m.tensor("size", (2,), [2, -1], np.int32)
    sl = m.tensor("slice", (2, 5))
    idx = m.tensor("idx", (3,), [4, 0, 2], np.int32)
    g = m.tensor("gather", (4, 3))
    axis = m.tensor("axis", (), [0], np.int32)
    e = m.tensor("expand", (1, 4, 5))
    split_axis = m.tensor("split_axis", (), [0], np.int32)
    s0, s1 = m.tensor("s0", (2, 5)), m.tensor("s1", (2, 5))
    paddings = m.tensor("paddings", (2, 2), [[1, 0], [2, 1]], np.int32)
    value = m.tensor("value", (), [1.5])
    pv = m.tensor("padv2", (5, 8))
    mp = m.tensor("mirror", (5, 8))
    m.outputs = [sl, g, e, s0, s1, pv, mp]
    m.op(65, [x, begin, size], [sl])
    m.op(36, [x, idx], [g], 23, [(0, "i32", 1)])
    m.op(70, [x, axis], [e])
    m.op(49, [split_axis, x], [s0, s1], 35, [(0, "i32", 2)])
    m.op(60, [x, paddings, value], [pv])
    m.op(100, [x, paddings], [mp], 77, [(0, "i8", 0)])
    compare(m, tmp_path)


def test_batch_matmul_adjoint(tmp_path):
    m = Model()
    a = m.tensor("a", (2, 4, 3), is_input=True)
    b = m.tensor("b", (2, 5, 4), is_input=True)
    y = m.tensor("y", (2, 3, 5))
    m.outputs = [y]
    m.op(126, [a, b], [y], 101, [(0, "bool", True), (1, "bool", True)])
    compare(m, tmp_path)
