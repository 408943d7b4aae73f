# Differential tests of the shape, indexing and reduction ops against onnxruntime: random
# single-node models (opsets 9..18, many dtypes, edge values such as out-of-range Slice
# bounds, ties in TopK/ArgMax, empty splits) with onnxruntime's outputs as expected values,
# written as ONNX node-test directories. Cases onnxruntime rejects are skipped.
#   python3 tests/kernels/fuzz_shape_ops_onnxruntime.py /tmp/shape_fuzz
#   build/onnx_node_tests /tmp/shape_fuzz
# (onnxruntime is a peer used for testing only.)
import onnx, numpy as np, onnxruntime as ort, os, shutil, random, sys
from onnx import helper, numpy_helper, TensorProto
out = sys.argv[1] if len(sys.argv) > 1 else '/tmp/shape_fuzz'
shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
rng = np.random.default_rng(0); random.seed(0)
T = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64, np.int32: TensorProto.INT32}
count = 0
def emit(name, op, opset, inputs, n_out=1, **attrs):
    global count
    ins = [helper.make_tensor_value_info(f'i{k}', helper.np_dtype_to_tensor_dtype(v.dtype), v.shape) for k, v in enumerate(inputs)]
    outs = [onnx.ValueInfoProto(name=f'o{k}') for k in range(n_out)]
    node = helper.make_node(op, [f'i{k}' for k in range(len(inputs))], [f'o{k}' for k in range(n_out)], **attrs)
    m = helper.make_model(helper.make_graph([node], name, ins, outs), opset_imports=[helper.make_opsetid('', opset)])
    m.ir_version = 8
    try:
        res = ort.InferenceSession(m.SerializeToString(), providers=['CPUExecutionProvider']).run(None, {f'i{k}': v for k, v in enumerate(inputs)})
    except Exception as e:
        return  # invalid case per onnxruntime
    for k, r in enumerate(res):
        m.graph.output[k].CopyFrom(helper.make_tensor_value_info(f'o{k}', helper.np_dtype_to_tensor_dtype(r.dtype), r.shape))
    d = f'{out}/test_{name}_{count}'; count += 1
    os.makedirs(f'{d}/test_data_set_0')
    onnx.save(m, f'{d}/model.onnx')
    for k, v in enumerate(inputs): open(f'{d}/test_data_set_0/input_{k}.pb', 'wb').write(numpy_helper.from_array(v, f'i{k}').SerializeToString())
    for k, v in enumerate(res): open(f'{d}/test_data_set_0/output_{k}.pb', 'wb').write(numpy_helper.from_array(v, f'o{k}').SerializeToString())
def rand_shape(r=None):
    r = r or random.randint(1, 4); return [random.randint(1, 5) for _ in range(r)]
def a(shape, dt=np.float32): return (rng.standard_normal(shape) * 3).astype(dt) if dt == np.float32 else rng.integers(-3, 4, shape).astype(dt)
I = lambda v: np.array(v, dtype=np.int64)
for it in range(60):
    s = rand_shape(); r = len(s); x = a(s)
    ax = sorted(random.sample(range(r), random.randint(1, r)))
    starts = [random.randint(-7, 7) for _ in ax]; ends = [random.choice([random.randint(-7, 7), 2**62, -2**62]) for _ in ax]
    steps = [random.choice([1, 2, -1, -2, 3]) for _ in ax]
    emit('slice', 'Slice', 13, [x, I(starts), I(ends), I([q - r if random.random() < .5 else q for q in ax]), I(steps)])
    for op in ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp', 'ReduceSumSquare']:
        kd = random.randint(0, 1)
        xi = a(s, np.int32) if random.random() < .3 and op not in ('ReduceL2', 'ReduceLogSumExp', 'ReduceMean') else x
        emit('reduce13', op, 13 if op != 'ReduceSum' else 11, [xi], axes=ax, keepdims=kd)
        emit('reduce18', op, 18, [xi, I(ax)], keepdims=kd)
        emit('reduce18noaxes', op, 18, [xi], keepdims=kd, noop_with_empty_axes=random.randint(0, 1))
    axis = random.randrange(r)
    n = random.randint(1, 3)
    emit('split18', 'Split', 18, [x], n_out=n, axis=axis, num_outputs=n)
    if s[axis] >= 2:
        cut = random.randint(0, s[axis]); emit('split13', 'Split', 13, [x, I([cut, s[axis] - cut])], n_out=2, axis=axis)
    k = random.randint(0, s[axis])
    xt = a(s, np.int64) if random.random() < .5 else x
    emit('topk', 'TopK', 11, [xt, I([k])], n_out=2, axis=axis - r if random.random() < .5 else axis, largest=random.randint(0, 1))
    emit('argmax', random.choice(['ArgMax', 'ArgMin']), 13, [a(s, np.int32)], axis=axis, keepdims=random.randint(0, 1), select_last_index=random.randint(0, 1))
    emit('cumsum', 'CumSum', 14, [x, np.array(axis, dtype=np.int64)], exclusive=random.randint(0, 1), reverse=random.randint(0, 1))
    emit('transpose', 'Transpose', 13, [x], perm=list(np.random.permutation(r)))
    emit('tile', 'Tile', 13, [x, I([random.randint(0, 3) for _ in s])])
    emit('expand', 'Expand', 13, [x, I([random.choice([1, d]) for d in s][random.randint(0, r - 1):] if random.random() < .5 else [2] + [random.choice([1, d]) for d in s])])
    idx = rng.integers(-s[axis], s[axis], rand_shape(random.randint(0, 2))).astype(np.int64)
    emit('gather', 'Gather', 13, [x, idx], axis=axis)
    ish = [random.randint(1, d) for d in s]
    emit('gatherel', 'GatherElements', 13, [x, rng.integers(-s[axis], s[axis], ish).astype(np.int64)], axis=axis)
    emit('scatterel', 'ScatterElements', 16, [x, rng.integers(-s[axis], s[axis], ish).astype(np.int64), a(ish)], axis=axis, reduction=random.choice(['add', 'mul']))
    if r >= 2:
        emit('trilu', 'Trilu', 14, [x, np.array(random.randint(-3, 3), dtype=np.int64)], upper=random.randint(0, 1))
    emit('flatten', 'Flatten', 13, [x], axis=random.randint(-r, r))
    emit('reshape', 'Reshape', 14, [x, I([0, -1] if r >= 2 else [-1])])
    q = random.randint(1, r); kdim = s[:q]
    ind = np.stack([rng.integers(0, d, [3]) for d in kdim], axis=-1).astype(np.int64)
    emit('gathernd', 'GatherND', 13, [x, ind])
    emit('scatternd', 'ScatterND', 16, [x, ind[:1], a([1] + s[q:])], reduction=random.choice(['none', 'add', 'mul']))
    emit('onehot', 'OneHot', 11, [rng.integers(-4, 5, s).astype(np.int64), np.array(4, dtype=np.int64), np.array([0, 1], dtype=np.float32)], axis=random.randint(-r - 1, r))
    emit('nonzero', 'NonZero', 13, [a(s, np.int32)])
    emit('range', 'Range', 11, [np.array(random.randint(-5, 5), dtype=np.int64), np.array(random.randint(-5, 5), dtype=np.int64), np.array(random.choice([-2, -1, 1, 3]), dtype=np.int64)])
    emit('rangef', 'Range', 11, [np.array(rng.uniform(-3, 3), dtype=np.float32), np.array(rng.uniform(-3, 3), dtype=np.float32), np.array(random.choice([-0.7, 0.3, 1.1]), dtype=np.float32)])
for it in range(60):
    s = rand_shape(); r = len(s)
    dt = random.choice([np.float32, np.int64, np.int32, np.int8, np.uint8, np.float16, np.bool_, np.float64])
    x = (rng.standard_normal(s) * 3).astype(dt) if dt != np.bool_ else rng.integers(0, 2, s).astype(np.bool_)
    axis = random.randrange(r)
    sq = [d for d in range(r) if s[d] == 1]
    if sq:
        emit('squeeze13', 'Squeeze', 13, [x, I(sq[:1])]); emit('squeeze11', 'Squeeze', 11, [x], axes=sq)
    ua = sorted(random.sample(range(r + 2), 2))
    emit('unsqueeze13', 'Unsqueeze', 13, [x, I([ua[1], ua[0] - r - 2])]); emit('unsqueeze11', 'Unsqueeze', 11, [x], axes=ua)
    emit('split11', 'Split', 11, [x], n_out=1, axis=axis, split=[s[axis]])
    emit('slice10', 'Slice', 10, [x, I([random.randint(-4, 4)]), I([random.randint(-4, 9)]), I([axis]), I([random.choice([1, -1, 2])])])
    emit('slice1', 'Slice', 9, [x], starts=[random.randint(-4, 4)], ends=[random.randint(-4, 9)], axes=[axis])
    emit('shape15', 'Shape', 15, [x], start=random.randint(-5, 5), end=random.randint(-5, 5))
    emit('size', 'Size', 13, [x])
    emit('concat', 'Concat', 13, [x, x[tuple(slice(0, 1) if d == axis else slice(None) for d in range(r))]], axis=axis - r)
    emit('transpose_dt', 'Transpose', 13, [x])
    emit('tile_dt', 'Tile', 13, [x, I([random.randint(1, 2) for _ in s])])
    emit('expand_dt', 'Expand', 13, [x, I([3] + s)])
    emit('gather_dt', 'Gather', 13, [x, rng.integers(-s[axis], s[axis], [2]).astype(np.int32)], axis=axis)
    emit('reverse_dt', 'Slice', 13, [x, I([-1]), I([-2**63]), I([axis]), I([-1])])
    emit('identity_reshape', 'Reshape', 14, [x, I([-1])])
    n4 = [random.randint(1, 2), random.randint(1, 3) * 4, random.randint(1, 3) * 2, random.randint(1, 3) * 2]
    x4 = a(n4)
    emit('d2s', 'DepthToSpace', 13, [x4], blocksize=2, mode=random.choice(['DCR', 'CRD']))
    emit('s2d', 'SpaceToDepth', 13, [x4], blocksize=2)
    t, b = random.randint(1, 4), random.randint(1, 3)
    emit('revseq', 'ReverseSequence', 10, [a([t, b, 2]), rng.integers(1, t + 1, [b]).astype(np.int64)], time_axis=0, batch_axis=1)
    emit('revseq_b', 'ReverseSequence', 10, [a([b, t]), rng.integers(1, t + 1, [b]).astype(np.int64)], time_axis=1, batch_axis=0)
    emit('eyelike', 'EyeLike', 9, [a([random.randint(1, 4), random.randint(1, 4)])], k=random.randint(-3, 3), dtype=random.choice([1, 6, 7]))
    emit('cos', 'ConstantOfShape', 9, [I(rand_shape())], value=numpy_helper.from_array(np.array([random.randint(-5, 5)], dtype=np.int32)))
    if r >= 2:
        bd = [random.randint(1, 3)]
        xb = a(bd + s[1:]); ind = np.stack([rng.integers(0, d, bd + [2]) for d in s[1:2]], axis=-1).astype(np.int64)
        emit('gathernd_batch', 'GatherND', 13, [xb, ind], batch_dims=1)
    xs = rng.integers(0, 3, s).astype(np.float32)  # many ties
    emit('topk_ties', 'TopK', 11, [xs, I([random.randint(0, s[axis])])], n_out=2, axis=axis, largest=random.randint(0, 1))
    emit('argmax_ties', random.choice(['ArgMax', 'ArgMin']), 13, [xs], axis=axis, keepdims=random.randint(0, 1), select_last_index=random.randint(0, 1))
    emit('scatter_max', 'ScatterElements', 18, [x.astype(np.float32), I([[0] * 1] * 1).reshape([1] * r), a([1] * r)], axis=axis, reduction=random.choice(['max', 'min']))
for it in range(40):  # f16 through the arithmetic ops (computed in f32 by edgekit)
    s = rand_shape(); r = len(s); axis = random.randrange(r)
    xh = (rng.standard_normal(s)).astype(np.float16)
    op = random.choice(['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceL2', 'ReduceSumSquare'])
    emit('reduce_f16', op, 18, [xh, I([axis])], keepdims=random.randint(0, 1))
    emit('argmax_f16', 'ArgMax', 13, [xh], axis=axis)
    emit('topk_f16', 'TopK', 11, [xh, I([random.randint(0, s[axis])])], n_out=2, axis=axis)
    emit('cumsum_f16', 'CumSum', 14, [xh, np.array(axis, dtype=np.int64)])
print(count, 'cases in', out)
