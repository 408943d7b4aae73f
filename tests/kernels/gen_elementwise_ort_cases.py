# Differential check of edgekit's elementwise kernels against onnxruntime (a peer, used for
# comparison only). Writes ~1150 ONNX node-test style cases (model.onnx + test_data_set_0) over
# dtypes, broadcast shapes, attributes and opsets, with ORT's outputs as expected values; cases
# ORT cannot run are skipped. Run them with the node-test runner:
#   python3 tests/kernels/gen_elementwise_ort_cases.py /tmp/ew_cases
#   build/onnx_node_tests /tmp/ew_cases -v
# Expected differences (edgekit is right or the runner is): Cast int->f16 overflow to inf
# (the runner's compare treats inf == inf as a mismatch), Dropout-10's mask (ORT gives all
# false, the ONNX reference all true), Gelu far tails (ORT loses precision to cancellation).
import os, sys, shutil, itertools
import numpy as np, onnx, onnxruntime as ort
from onnx import helper as h, numpy_helper as nh, TensorProto as TP

OUT = sys.argv[1] if len(sys.argv) > 1 else '/tmp/ew/cases'
shutil.rmtree(OUT, ignore_errors=True); os.makedirs(OUT)
rng = np.random.default_rng(0)
NP2TP = {np.float32: TP.FLOAT, np.float64: TP.DOUBLE, np.float16: TP.FLOAT16, np.int8: TP.INT8, np.uint8: TP.UINT8,
         np.int16: TP.INT16, np.uint16: TP.UINT16, np.int32: TP.INT32, np.uint32: TP.UINT32, np.int64: TP.INT64,
         np.uint64: TP.UINT64, np.bool_: TP.BOOL}
made = skipped = 0

def case(name, op, inputs, attrs=None, opset=18, n_out=1, domain='', input_names=None):
    global made, skipped
    in_names = input_names or [f'x{i}' for i in range(len(inputs))]
    present = [(n, a) for n, a in zip(in_names, inputs) if n]
    outs = [f'y{i}' for i in range(n_out)]
    node = h.make_node(op, in_names, outs, domain=domain or None, **(attrs or {}))
    vi_in = [h.make_tensor_value_info(n, h.np_dtype_to_tensor_dtype(a.dtype), a.shape) for n, a in present]
    vi_out = [onnx.ValueInfoProto(name=o) for o in outs]
    imports = [h.make_opsetid('', opset)] + ([h.make_opsetid(domain, 1)] if domain else [])
    m = h.make_model(h.make_graph([node], name, vi_in, vi_out), opset_imports=imports)
    m.ir_version = 8
    try:
        sess = ort.InferenceSession(m.SerializeToString(), providers=['CPUExecutionProvider'])
        res = sess.run(None, {n: a for n, a in present})
    except Exception as e:
        skipped += 1
        return
    # fix output types from the real results
    m.graph.ClearField('output')
    for o, r in zip(outs, res):
        m.graph.output.append(h.make_tensor_value_info(o, h.np_dtype_to_tensor_dtype(r.dtype), r.shape))
    d = os.path.join(OUT, 'test_' + name); os.makedirs(d + '/test_data_set_0')
    onnx.save(m, d + '/model.onnx')
    for i, (n, a) in enumerate(present):
        open(f'{d}/test_data_set_0/input_{i}.pb', 'wb').write(nh.from_array(a, n).SerializeToString())
    for i, (o, r) in enumerate(zip(outs, res)):
        open(f'{d}/test_data_set_0/output_{i}.pb', 'wb').write(nh.from_array(r, o).SerializeToString())
    made += 1

def rand(shape, dt, lo=-5, hi=5):
    dt = np.dtype(dt)
    if dt == np.bool_: return rng.random(shape) < 0.5
    if dt.kind == 'f': return rng.uniform(lo, hi, shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(max(lo, info.min), min(hi, info.max) + 1, shape).astype(dt)

ALL_NUM = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
FLOATS = [np.float32, np.float64, np.float16]
SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), ()), ((), (2, 3)), ((2, 3, 4, 5), (3, 1, 1)), ((2, 1, 4), (3, 1)),
          ((5,), (2, 3, 5)), ((1, 3, 1), (2, 1, 4)), ((2, 0, 3), (3,)), ((4, 1), (1, 4))]

for op in ['Add', 'Sub', 'Mul', 'Div']:
    for dt in ALL_NUM:
        for k, (sa, sb) in enumerate(SHAPES):
            a, b = rand(sa, dt), rand(sb, dt)
            if op == 'Div' and np.dtype(dt).kind in 'iu': b[b == 0] = 3
            case(f'{op}_{np.dtype(dt).name}_{k}', op, [a, b], opset=14)
for dt in ALL_NUM:
    for fm in [0, 1]:
        if np.dtype(dt).kind == 'f' and fm == 0: continue
        a, b = rand((4, 5), dt, -20, 20), rand((5,), dt, -7, 7)
        b[b == 0] = 3
        case(f'Mod_{np.dtype(dt).name}_fmod{fm}', 'Mod', [a, b], {'fmod': fm}, opset=13)
for bt in [np.float32, np.float64, np.int32, np.int64, np.float16]:
    for et in ALL_NUM:
        a = rand((3, 4), bt, 0 if np.dtype(bt).kind in 'iu' else 0.1, 4) if True else None
        e = rand((4,), et, 0, 3)
        case(f'Pow_{np.dtype(bt).name}_{np.dtype(et).name}', 'Pow', [a, e], opset=15)
for op in ['Min', 'Max', 'Sum', 'Mean']:
    for dt in ALL_NUM:
        for n in [1, 2, 3]:
            ins = [rand(s, dt) for s in [(2, 3, 4), (3, 1), (4,)][:n]]
            case(f'{op}_{np.dtype(dt).name}_{n}', op, ins, opset=13)
for op in ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']:
    for dt in ALL_NUM + [np.bool_]:
        a, b = rand((2, 3, 4), dt, -2, 2), rand((3, 1), dt, -2, 2)
        case(f'{op}_{np.dtype(dt).name}', op, [a, b], opset=16)
for op in ['And', 'Or', 'Xor']:
    case(op, op, [rand((2, 3, 4), np.bool_), rand((4,), np.bool_)], opset=7)
for dt in [np.uint8, np.uint16, np.uint32, np.uint64]:
    for d in ['LEFT', 'RIGHT']:
        case(f'BitShift_{d}_{np.dtype(dt).name}', 'BitShift', [rand((3, 4), dt, 0, 200), rand((4,), dt, 0, 7)], {'direction': d}, opset=11)
for dt in FLOATS + [np.int32, np.int64]:
    case(f'PRelu_{np.dtype(dt).name}', 'PRelu', [rand((2, 3, 4, 5), dt), rand((3, 1, 1), dt, -1, 1)], opset=16)

UNARY = {'Abs': ALL_NUM, 'Neg': [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64],
         'Sign': ALL_NUM, 'Relu': FLOATS + [np.int8, np.int32, np.int64]}
for op in ['Sqrt', 'Exp', 'Log', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan',
           'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Erf', 'Sigmoid', 'Tanh', 'Softplus', 'Softsign', 'Mish', 'IsNaN', 'IsInf']:
    UNARY[op] = FLOATS
for op, dts in UNARY.items():
    for dt in dts:
        lo, hi = {'Sqrt': (0, 9), 'Log': (0.1, 9), 'Asin': (-1, 1), 'Acos': (-1, 1), 'Atanh': (-0.99, 0.99),
                  'Acosh': (1, 9), 'Round': (-4, 4)}.get(op, (-5, 5))
        x = rand((3, 17), dt, lo, hi)
        if op == 'Round': x = (np.round(x.astype(np.float64) * 2) / 2).astype(dt)  # exact halves
        if op in ('IsNaN', 'IsInf'): x.ravel()[:4] = np.array([np.nan, np.inf, -np.inf, 0]).astype(dt)
        case(f'{op}_{np.dtype(dt).name}', op, [x], opset=18 if op != 'Relu' else 14)
case('Not', 'Not', [rand((3, 4), np.bool_)], opset=7)
for pos, neg in [(0, 1), (1, 0)]:
    x = np.array([np.inf, -np.inf, np.nan, 1], np.float32)
    case(f'IsInf_{pos}{neg}', 'IsInf', [x], {'detect_positive': pos, 'detect_negative': neg}, opset=10)

ACT = [('LeakyRelu', {}), ('LeakyRelu', {'alpha': 0.3}), ('Elu', {}), ('Elu', {'alpha': 0.5}), ('Selu', {}),
       ('Selu', {'alpha': 2.0, 'gamma': 0.5}), ('Celu', {}), ('Celu', {'alpha': 2.0}), ('ThresholdedRelu', {}),
       ('ThresholdedRelu', {'alpha': 0.5}), ('HardSigmoid', {}), ('HardSigmoid', {'alpha': 0.3, 'beta': 0.4}), ('HardSwish', {})]
for k, (op, at) in enumerate(ACT):
    for dt in FLOATS:
        case(f'{op}_{k}_{np.dtype(dt).name}', op, [rand((3, 17), dt)], at, opset=18)
for ap in ['none', 'tanh']:
    for dt in FLOATS:
        case(f'Gelu_{ap}_{np.dtype(dt).name}', 'Gelu', [rand((3, 17), dt)], {'approximate': ap}, opset=20)
case('Gelu_ms', 'Gelu', [rand((3, 17), np.float32)], domain='com.microsoft')

# Clip across opsets
x = rand((3, 5), np.float32)
case('Clip_op10', 'Clip', [x], {'min': -1.0, 'max': 2.0}, opset=10)
case('Clip_op10_default', 'Clip', [x], opset=10)
for dt in ALL_NUM:
    xx = rand((3, 5), dt, -10, 10)
    lo, hi = np.array(-3 if np.dtype(dt).kind != 'u' else 2, dt), np.array(4, dt)
    case(f'Clip_{np.dtype(dt).name}', 'Clip', [xx, lo, hi], opset=13)
    case(f'Clip_{np.dtype(dt).name}_maxonly', 'Clip', [xx, hi], opset=13, input_names=['x0', '', 'x1'])
    case(f'Clip_{np.dtype(dt).name}_minonly', 'Clip', [xx, lo], opset=12)
    case(f'Clip_{np.dtype(dt).name}_inverted', 'Clip', [xx, hi, lo], opset=13)

for dt in ALL_NUM + [np.bool_]:
    case(f'Where_{np.dtype(dt).name}', 'Where', [rand((3, 1, 4), np.bool_), rand((2, 4), dt), rand((3, 2, 1), dt)], opset=16)

CAST_T = ALL_NUM + [np.bool_]
for src, dst in itertools.product(CAST_T, CAST_T):
    sdt = np.dtype(src)
    if sdt.kind == 'f':
        x = np.array([0, 1.5, -1.5, 2.9, -2.9, 100.25, 0.1, -0.0, 65000, 7e-5], np.float64)
    elif sdt == np.bool_:
        x = np.array([True, False, True])
    else:
        info = np.iinfo(sdt)
        x = np.array([0, 1, info.max, info.min, 100, 3, 127, 255, 300 % (int(info.max) + 1), 60000 % (int(info.max) + 1)], np.float64)
    x = x.astype(src)
    ddt = np.dtype(dst)
    if sdt.kind == 'f' and ddt.kind in 'iu':  # keep float->int in range (out of range is undefined in ONNX)
        info = np.iinfo(ddt)
        x = x[(x.astype(np.float64) >= info.min) & (x.astype(np.float64) <= info.max)]
    case(f'Cast_{sdt.name}_to_{ddt.name}', 'Cast', [x], {'to': NP2TP[dst]}, opset=13)
    case(f'CastLike_{sdt.name}_to_{ddt.name}', 'CastLike', [x, np.zeros((1,), dst)], opset=15)

case('Identity_i64', 'Identity', [rand((2, 3), np.int64)], opset=16)
case('Dropout_op10', 'Dropout', [rand((2, 3), np.float32)], {'ratio': 0.3}, opset=10, n_out=2)
case('Dropout_op13', 'Dropout', [rand((2, 3), np.float32), np.array(0.2, np.float32)], opset=13, n_out=2)
case('Dropout_op13_train0', 'Dropout', [rand((2, 3), np.float32), np.array(0.0, np.float32), np.array(True)], opset=13, n_out=2)

for op in ['Softmax', 'LogSoftmax', 'Hardmax']:
    for opset in [11, 13]:
        for axis in [None, 0, 1, 2, -1, -3]:
            for dt in FLOATS:
                x = rand((2, 3, 4), dt, -3, 3)
                if op == 'Hardmax': x = np.round(x).astype(dt)  # ties: first index wins
                at = {} if axis is None else {'axis': axis}
                case(f'{op}_op{opset}_axis{axis}_{np.dtype(dt).name}', op, [x], at, opset=opset)
print(f'made {made} cases, ORT could not run {skipped}')
