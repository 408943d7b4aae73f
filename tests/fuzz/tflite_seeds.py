"""Small float TFLite models, one or two ops each, written with the flatbuffers package's
low-level Builder (field numbers from TFLite's schema, as src/formats/tflite/tflite_schema.h
lists them). They seed fuzz_tflite_import with every op mapping the importer has at a few
hundred bytes each, where the MLPerf Tiny models cost 40 KB to 1 MB an execution."""
import struct

import flatbuffers

F32, I32 = 0, 2
# BuiltinOptions union types and Activation values
CONV, DWCONV, POOL, FC, SOFTMAX, CONCAT, ADD, RESHAPE, MUL, REDUCER, SUB, BMM = 1, 2, 5, 8, 9, 10, 11, 17, 21, 27, 28, 101
RELU, RELU6 = 1, 3


def const(shape, values, dtype=F32):
    fmt = "<%d%s" % (len(values), "f" if dtype == F32 else "i")
    return (shape, dtype, struct.pack(fmt, *values))


def act(shape, dtype=F32):
    return (shape, dtype, None)


def ramp(n):
    return [0.25 * i - 1.0 for i in range(n)]


def _vector(b, values, prepend, size):
    b.StartVector(size, len(values), size)
    for v in reversed(values):
        prepend(v)
    return b.EndVector()


def _table(b, fields):
    """fields: (slot, kind, value) with kind one of i8 u8 i32 u32 f32 bool off."""
    b.StartObject(max([s for s, _, _ in fields], default=-1) + 1)
    adders = {"i8": b.PrependInt8Slot, "u8": b.PrependUint8Slot, "i32": b.PrependInt32Slot,
              "u32": b.PrependUint32Slot, "f32": b.PrependFloat32Slot, "bool": b.PrependBoolSlot}
    for s, kind, v in fields:
        if kind == "off":
            b.PrependUOffsetTRelativeSlot(s, v, 0)
        else:
            adders[kind](s, v, 0)
    return b.EndObject()


def model(tensors, ops, inputs, outputs):
    """tensors: (shape, dtype, bytes or None); ops: (builtin code, inputs, outputs, options
    type, options fields as for _table)."""
    b = flatbuffers.Builder(1024)
    buffers = [_table(b, [])]
    buffer_of = []
    for _, _, data in tensors:
        if data is None:
            buffer_of.append(0)
            continue
        vec = b.CreateByteVector(data)
        buffer_of.append(len(buffers))
        buffers.append(_table(b, [(0, "off", vec)]))
    tensor_offs = []
    for i, (shape, dtype, _) in enumerate(tensors):
        shp = _vector(b, shape, b.PrependInt32, 4)
        name = b.CreateString("t%d" % i)
        tensor_offs.append(_table(b, [(0, "off", shp), (1, "i8", dtype), (2, "u32", buffer_of[i]), (3, "off", name)]))
    codes = sorted({op[0] for op in ops})
    code_offs = [_table(b, [(0, "i8", min(c, 127)), (2, "i32", 1), (3, "i32", c)]) for c in codes]
    op_offs = []
    for code, ins, outs, opt_type, opt_fields in ops:
        iv = _vector(b, ins, b.PrependInt32, 4)
        ov = _vector(b, outs, b.PrependInt32, 4)
        fields = [(0, "u32", codes.index(code)), (1, "off", iv), (2, "off", ov)]
        if opt_type:
            fields += [(3, "u8", opt_type), (4, "off", _table(b, opt_fields))]
        op_offs.append(_table(b, fields))
    tv = _vector(b, tensor_offs, b.PrependUOffsetTRelative, 4)
    iv = _vector(b, inputs, b.PrependInt32, 4)
    ov = _vector(b, outputs, b.PrependInt32, 4)
    opv = _vector(b, op_offs, b.PrependUOffsetTRelative, 4)
    sg_name = b.CreateString("main")
    sgv = _vector(b, [_table(b, [(0, "off", tv), (1, "off", iv), (2, "off", ov), (3, "off", opv), (4, "off", sg_name)])],
                  b.PrependUOffsetTRelative, 4)
    cv = _vector(b, code_offs, b.PrependUOffsetTRelative, 4)
    bv = _vector(b, buffers, b.PrependUOffsetTRelative, 4)
    desc = b.CreateString("edgekit fuzz seed")
    root = _table(b, [(0, "u32", 3), (1, "off", cv), (2, "off", sgv), (3, "off", desc), (4, "off", bv)])
    b.Finish(root, file_identifier=b"TFL3")
    return bytes(b.Output())


def seeds():
    x = act([1, 4, 4, 2])
    unary = lambda code: (code, [0], [1], 0, [])
    out = []
    out.append(("conv", model([x, const([3, 2, 2, 2], ramp(24)), const([3], [0.5, -0.5, 0]), act([1, 4, 4, 3])],
                              [(3, [0, 1, 2], [3], CONV, [(0, "i8", 0), (1, "i32", 1), (2, "i32", 1), (3, "i8", RELU),
                                                          (4, "i32", 1), (5, "i32", 1)])], [0], [3])))
    out.append(("dwconv", model([x, const([1, 3, 3, 2], ramp(18)), const([2], [0.1, 0.2]), act([1, 2, 2, 2])],
                                [(4, [0, 1, 2], [3], DWCONV, [(0, "i8", 1), (1, "i32", 1), (2, "i32", 1), (3, "i32", 1),
                                                              (4, "i8", RELU6), (5, "i32", 1), (6, "i32", 1)])], [0], [3])))
    for code in (17, 1):  # MAX_POOL_2D, AVERAGE_POOL_2D
        out.append(("pool%d" % code, model([x, act([1, 2, 2, 2])], [(code, [0], [1], POOL, [
            (0, "i8", 1), (1, "i32", 2), (2, "i32", 2), (3, "i32", 2), (4, "i32", 2)])], [0], [1])))
    out.append(("fc_softmax", model([act([1, 8]), const([4, 8], ramp(32)), const([4], [0, 1, 2, 3]), act([1, 4]), act([1, 4])],
                                    [(9, [0, 1, 2], [3], FC, [(0, "i8", RELU)]), (25, [3], [4], SOFTMAX, [(0, "f32", 1.0)])],
                                    [0], [4])))
    for code, opt in ((0, ADD), (18, MUL), (41, SUB)):
        out.append(("binary%d" % code, model([x, const([2], [0.5, 2.0]), act([1, 4, 4, 2])],
                                             [(code, [0, 1], [2], opt, [(0, "i8", RELU6)])], [0], [2])))
    out.append(("unary", model([x] + [act([1, 4, 4, 2]) for _ in range(6)],
                               [unary(14), (28, [1], [2], 0, []), (19, [2], [3], 0, []), (21, [3], [4], 0, []),
                                (117, [4], [5], 0, []), (47, [5], [6], 0, [])], [0], [6])))
    out.append(("reshape", model([x, const([2], [1, 32], I32), act([1, 32])], [(22, [0, 1], [2], RESHAPE, [])], [0], [2])))
    out.append(("concat", model([x, act([1, 4, 4, 2]), act([1, 4, 4, 4])],
                                [(2, [0, 1], [2], CONCAT, [(0, "i32", 3)])], [0, 1], [2])))
    out.append(("mean", model([x, const([2], [1, 2], I32), act([1, 1, 1, 2])],
                              [(40, [0, 1], [2], REDUCER, [(0, "bool", True)])], [0], [2])))
    out.append(("pad", model([x, const([4, 2], [0, 0, 1, 1, 1, 1, 0, 0], I32), act([1, 6, 6, 2])],
                             [(34, [0, 1], [2], 0, [])], [0], [2])))
    out.append(("transpose", model([x, const([4], [0, 3, 1, 2], I32), act([1, 2, 4, 4])],
                                   [(39, [0, 1], [2], 0, [])], [0], [2])))
    out.append(("strided_slice", model([x, const([4], [0, 1, 0, 0], I32), const([4], [1, 3, 4, 2], I32),
                                        const([4], [1, 1, 2, 1], I32), act([1, 2, 2, 2])],
                                       [(45, [0, 1, 2, 3], [4], 32, [])], [0], [4])))
    out.append(("batch_matmul", model([act([1, 2, 3]), const([1, 3, 4], ramp(12)), act([1, 2, 4])],
                                      [(126, [0, 1], [2], BMM, [])], [0], [2])))
    return out
