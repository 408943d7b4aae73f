"""edgekit: load ONNX and TFLite models and run them on the CPU, numpy in and out.

    import edgekit, numpy as np
    s = edgekit.Session("model.onnx", threads=2)
    print(s.inputs)                 # [ValueInfo(name='input', dtype=float32, shape=['batch', 3, 224, 224])]
    (y,) = s.run({"input": np.zeros((1, 3, 224, 224), np.float32)})
    y = s.run(x)[0]                 # a bare array is fine for a single-input model

Inputs are checked against the model before anything runs: a wrong dtype, shape or name
raises edgekit.Error (a RuntimeError) with a one-line message saying what was expected.
Arrays are never converted silently: cast with arr.astype(...) yourself.

    edgekit.quantize("model.onnx", "model.int8.onnx", calibration="calib.npz")   # static int8, QDQ
    edgekit.quantize("model.onnx", "model.int8.onnx", calibration={"input": x})  # arrays, dim 0 = samples
    edgekit.quantize("model.onnx", "model.dyn.onnx", mode="dynamic")
"""
import math as _math
import os as _os
import warnings as _warnings

import numpy as _np

from ._edgekit import Error, __version__  # noqa: F401
from . import _edgekit

Error.__module__ = "edgekit"  # shown as edgekit.Error in tracebacks

__all__ = ["Error", "Session", "ValueInfo", "load_npy", "quantize", "save_npy", "__version__"]


class ValueInfo:
    """A model input or output: name, numpy dtype, shape (ints; str for a named dynamic dim,
    None for an anonymous one; shape is None when even the rank is unknown)."""

    __slots__ = ("name", "dtype", "shape")

    def __init__(self, name, dtype, shape):
        self.name = name
        self.dtype = dtype
        self.shape = shape

    def __repr__(self):
        return f"ValueInfo(name={self.name!r}, dtype={self.dtype}, shape={self.shape!r})"

    def __eq__(self, other):
        return isinstance(other, ValueInfo) and (self.name, self.dtype, self.shape) == (
            other.name, other.dtype, other.shape)


def _infos(raw):
    return [ValueInfo(name, _np.dtype(fmt), shape) for name, fmt, shape in raw]


def _as_input(value, name):
    # order="C" keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d).
    try:
        a = _np.asarray(value, order="C")
    except Exception as e:  # ragged lists and the like
        raise Error(f"input '{name}': cannot convert {type(value).__name__} to an array: {e}") from None
    if a.dtype.byteorder == ">":
        raise Error(f"input '{name}': big-endian arrays are not supported; use arr.astype(arr.dtype.newbyteorder('<'))")
    if a.dtype.kind not in "fiub" or a.dtype == _np.longdouble:
        raise Error(f"input '{name}': unsupported dtype {a.dtype} (supported: float16/32/64, int8..int64, "
                    "uint8..uint64, bool)")
    return a


def _array(buf):
    return _np.asarray(buf)  # zero copy: the buffer object keeps the tensor alive


class Session:
    """A loaded model, ready to run. `threads` is between 1 and the machine's cores;
    `opt_level` (0..3) chooses the graph optimisations, 0 running the graph as stored;
    `verify=False` skips an .ekm file's SHA-256 check (for files checked before, e.g. once
    when installed: the hash is most of a large model's load)."""

    def __init__(self, path, threads=1, opt_level=3, verify=True):
        for name, value in (("threads", threads), ("opt_level", opt_level)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if not isinstance(verify, bool):
            raise TypeError(f"verify must be a bool, got {type(verify).__name__}")
        self._session = _edgekit.Session(_os.fspath(path), threads, opt_level, verify)
        self.path = _os.fspath(path)
        self.threads = threads
        self.inputs = _infos(self._session.inputs)
        self.outputs = _infos(self._session.outputs)

    def __repr__(self):
        return f"edgekit.Session({self.path!r}, inputs={self.inputs}, outputs={self.outputs})"

    def run(self, feeds, output_names=None):
        """Runs the model. `feeds` maps input names to arrays (a bare array for a single-input
        model). Returns a list of numpy arrays: every output in `outputs` order, or the ones
        named in `output_names`, in that order."""
        if not isinstance(feeds, dict):
            if len(self.inputs) != 1:
                names = ", ".join(repr(i.name) for i in self.inputs)
                raise Error(f"the model has {len(self.inputs)} inputs ({names}); pass a dict {{name: array}}")
            feeds = {self.inputs[0].name: feeds}
        arrays = {str(k): _as_input(v, k) for k, v in feeds.items()}
        wanted = None
        if output_names is not None:
            if isinstance(output_names, str):
                output_names = [output_names]
            index = {o.name: i for i, o in enumerate(self.outputs)}
            for n in output_names:
                if n not in index:
                    names = ", ".join(repr(o.name) for o in self.outputs)
                    raise Error(f"unknown output '{n}' (model outputs: {names})")
            wanted = [index[n] for n in output_names]
        results = [_array(b) for b in self._session.run(arrays)]
        return results if wanted is None else [results[i] for i in wanted]


def load_npy(path):
    """Reads a .npy file with edgekit's reader (same dtypes as the C++ API)."""
    return _array(_edgekit.read_npy(_os.fspath(path)))


def save_npy(path, array):
    """Writes a .npy file numpy can read (format 1.0, C order)."""
    _edgekit.write_npy(_os.fspath(path), _as_input(array, _os.fspath(path)))


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise Error(f"{name} must be at least {low}, got {value}")


def _preprocessing(mean, std, layout, image_size):
    """The image preprocessing kwargs as the C++ side takes them, checked as the CLI's
    --mean/--std/--layout/--image-size are."""
    pre = {}
    for name, value in (("mean", mean), ("std", std)):
        if value is None:
            continue
        values = [value] if _np.isscalar(value) else list(value)
        if not values or not all(isinstance(v, (int, float, _np.integer, _np.floating)) and not isinstance(v, bool) and _math.isfinite(v) for v in values):
            raise Error(f"{name} must be a number or a non-empty list of finite numbers, got {value!r}")
        pre[name] = [float(v) for v in values]
    if "mean" in pre and "std" in pre and len(pre["mean"]) != len(pre["std"]):
        raise Error(f"mean has {len(pre['mean'])} values but std has {len(pre['std'])}")
    if any(v <= 0 for v in pre.get("std", [])):
        raise Error(f"std {std!r}: every value must be positive")
    if layout is not None:
        if layout not in ("NCHW", "NHWC"):
            raise Error(f"layout {layout!r}: expected 'NCHW' or 'NHWC'")
        pre["layout"] = layout
    if image_size is not None:
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
            raise Error(f"image_size {image_size!r}: expected a positive int or (width, height)")
        pre["image_size"] = size
    return pre


def quantize(model, output, mode="static", calibration=None, method="minmax", per_channel=None,
             symmetric_activations=False, int8_io=False, int8_outputs=False, bias_correction=True, exclude=(),
             batch=32, threads=1, format="onnx", weight_range="max", mean=None, std=None, layout=None,
             image_size=None):
    """Quantizes the float model at path `model` and writes it to `output`, as the CLI's
    `edgekit quantize` does (the same C++ quantize_model; docs/quantization.md).

    mode: "static" (int8 QDQ, calibrated), "dynamic" (int8 Gemm/MatMul weights, activations
      quantized at run time; GRU/LSTM weights stored int8, computed in float) or "fp16" (half-size weights).
    calibration (static only): a path to a .npz (one array per input name, dim 0 counting
      samples) or to a folder of .npy files, or arrays in memory: a dict {input name: array}
      or, for a one-input model, one array; dim 0 counts samples. Checked like the files
      (dtype, shape, finite values).
    method: "minmax", "percentile", "entropy" or "mse" (the calibration range).
    per_channel: weights per output channel; None means the CLI's default (True for static,
      False for dynamic).
    symmetric_activations, int8_io, int8_outputs, exclude (node names or op types kept in float),
      batch (calibration batch size) and threads as the CLI's --symmetric-activations, --int8-io,
      --int8-outputs, --exclude, --batch and --threads; bias_correction=False as
      --no-bias-correction; weight_range "max" or "mse" as --weight-range.
    format: "onnx" (QDQ ONNX, runs in ONNX Runtime too) or "ekm" (compiled for edgekit).
    mean, std (a number or one per channel), layout ("NCHW" or "NHWC") and image_size (an int
      or (width, height)): how a calibration folder of images becomes the input, as the CLI's
      --mean, --std, --layout and --image-size; by default an .ekm model's stored
      preprocessing, else mean 0, std 1 and the input's own layout and size.

    Returns a dict: quantized_nodes, by_op {op type: count}, warnings (each also issued as a
    Python warning), calibration_batches, input_bytes, output_bytes. Raises edgekit.Error with
    the CLI's one-line messages on bad input."""
    for name, value in (("mode", mode), ("method", method), ("format", format), ("weight_range", weight_range)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    _check_int("batch", batch, 1)
    _check_int("threads", threads, 1)
    if format not in ("onnx", "ekm"):
        raise Error(f"format {format}: expected onnx or ekm")
    if weight_range not in ("max", "mse"):
        raise Error(f"weight_range {weight_range!r}: expected 'max' or 'mse'")
    preprocessing = _preprocessing(mean, std, layout, image_size)
    if per_channel is None:
        per_channel = mode == "static"
    if isinstance(exclude, str):
        exclude = [exclude]
    path, arrays = "", {}
    if isinstance(calibration, (str, bytes, _os.PathLike)):
        path = _os.fsdecode(calibration)
        if not path:
            raise Error("calibration: empty path")
    elif isinstance(calibration, dict):
        arrays = {str(k): _as_input(v, f"calibration['{k}']") for k, v in calibration.items()}
        if not arrays:
            raise Error("calibration: the dict holds no arrays")
    elif calibration is not None:
        arrays = {"array": _as_input(calibration, "calibration")}
    report = _edgekit.quantize(_os.fspath(model), _os.fspath(output), mode, path, arrays, method, bool(per_channel),
                               bool(symmetric_activations), bool(int8_io), bool(int8_outputs), bool(bias_correction),
                               [str(e) for e in exclude], batch, threads, format, weight_range == "mse",
                               preprocessing)
    for w in report["warnings"]:
        _warnings.warn(w, stacklevel=2)
    report["input_bytes"] = _os.path.getsize(model)
    report["output_bytes"] = _os.path.getsize(output)
    return report
