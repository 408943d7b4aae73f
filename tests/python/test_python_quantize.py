"""edgekit.quantize (Python): the same C++ quantize_model as `edgekit quantize`, so the same
file for the same options; calibration from a path or from arrays; errors as edgekit.Error."""
import subprocess
import warnings

import numpy as np
import pytest

from pyhelpers import BUILD, CLI, make_cnn

edgekit = pytest.importorskip("edgekit") if (BUILD / "python" / "edgekit").is_dir() else None
pytestmark = pytest.mark.skipif(edgekit is None, reason=f"no Python package in {BUILD / 'python'} (run make build)")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("pyquant")
    fp32 = make_cnn(d / "cnn.onnx")
    x = np.random.default_rng(0).standard_normal((40, 1, 8, 8)).astype(np.float32)
    calib = d / "calib.npz"
    np.savez(calib, x=x)
    return d, fp32, calib, x


def cli_quantize(*args):
    if not CLI.exists():
        pytest.skip(f"{CLI} is not built")
    r = subprocess.run([str(CLI), "quantize", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_static_is_the_cli_file(setup):
    d, fp32, calib, x = setup
    cli_quantize(fp32, "-o", d / "cli.onnx", "--calibration", calib)
    r = edgekit.quantize(fp32, d / "py.onnx", calibration=calib)
    assert r["quantized_nodes"] == 7 and r["by_op"]["Conv"] == 2 and r["by_op"]["Gemm"] == 1
    assert r["calibration_batches"] == 2 and r["warnings"] == []  # 40 samples, batches of 32
    assert r["output_bytes"] == (d / "py.onnx").stat().st_size and r["input_bytes"] == fp32.stat().st_size
    assert (d / "py.onnx").read_bytes() == (d / "cli.onnx").read_bytes()
    # Arrays in memory give the same file: by input name, or one bare array.
    edgekit.quantize(fp32, d / "dict.onnx", calibration={"x": x})
    edgekit.quantize(str(fp32), str(d / "bare.onnx"), calibration=x)
    assert (d / "dict.onnx").read_bytes() == (d / "cli.onnx").read_bytes()
    assert (d / "bare.onnx").read_bytes() == (d / "cli.onnx").read_bytes()
    # And it runs close to the float model.
    ref = edgekit.Session(fp32).run(x)[0]
    got = edgekit.Session(d / "py.onnx").run(x)[0]
    assert 10 * np.log10((ref ** 2).sum() / ((ref - got) ** 2).sum()) > 20


def test_options_match_the_cli(setup):
    d, fp32, calib, x = setup
    cli_quantize(fp32, "-o", d / "cli_pt.onnx", "--calibration", calib, "--per-tensor", "--method", "percentile",
                 "--symmetric-activations", "--batch", "8", "--exclude", "fc")
    r = edgekit.quantize(fp32, d / "py_pt.onnx", calibration=calib, per_channel=False, method="percentile",
                         symmetric_activations=True, batch=8, exclude="fc")
    assert r["calibration_batches"] == 5 and "Gemm" not in r["by_op"]
    assert (d / "py_pt.onnx").read_bytes() == (d / "cli_pt.onnx").read_bytes()
    cli_quantize(fp32, "-o", d / "cli_io.onnx", "--calibration", calib, "--int8-io")
    edgekit.quantize(fp32, d / "py_io.onnx", calibration=calib, int8_io=True)
    assert (d / "py_io.onnx").read_bytes() == (d / "cli_io.onnx").read_bytes()
    assert edgekit.Session(d / "py_io.onnx").inputs[0].dtype == np.int8
    cli_quantize(fp32, "-o", d / "cli_plain.onnx", "--calibration", calib, "--int8-outputs", "--no-bias-correction")
    edgekit.quantize(fp32, d / "py_plain.onnx", calibration=calib, int8_outputs=True, bias_correction=False)
    assert (d / "py_plain.onnx").read_bytes() == (d / "cli_plain.onnx").read_bytes()


def test_dynamic_and_fp16(setup):
    d, fp32, _, x = setup
    ref = edgekit.Session(fp32).run(x)[0]
    for mode in ["dynamic", "fp16"]:
        r = edgekit.quantize(fp32, d / f"{mode}.onnx", mode=mode)
        assert r["quantized_nodes"] >= 1 and r["calibration_batches"] == 0
        got = edgekit.Session(d / f"{mode}.onnx").run(x)[0]
        assert np.abs(got - ref).max() <= 0.05 * np.abs(ref).max(), mode
    cli_quantize(fp32, "-o", d / "cli_dyn.onnx", "--mode", "dynamic")
    assert (d / "dynamic.onnx").read_bytes() == (d / "cli_dyn.onnx").read_bytes()


def test_errors(setup):
    d, fp32, calib, x = setup
    out = d / "bad.onnx"
    with pytest.raises(edgekit.Error, match="mode='static' needs calibration"):
        edgekit.quantize(fp32, out)
    with pytest.raises(edgekit.Error, match="calibration is for mode='static'"):
        edgekit.quantize(fp32, out, mode="dynamic", calibration=calib)
    with pytest.raises(edgekit.Error, match=r"calibration\['x'\]: calibration data for input 'x' has shape \[4,1,8,9\]"):
        edgekit.quantize(fp32, out, calibration={"x": np.zeros((4, 1, 8, 9), np.float32)})
    with pytest.raises(edgekit.Error, match="has dtype f64"):
        edgekit.quantize(fp32, out, calibration=x.astype(np.float64))
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(edgekit.Error, match="non-finite value"):
        edgekit.quantize(fp32, out, calibration=bad)
    with pytest.raises(edgekit.Error, match="no array named 'x'"):
        edgekit.quantize(fp32, out, calibration={"a": x, "b": x})
    with pytest.raises(edgekit.Error, match="unknown quantization mode 'int4'"):
        edgekit.quantize(fp32, out, mode="int4")
    with pytest.raises(edgekit.Error, match="unknown calibration method"):
        edgekit.quantize(fp32, out, calibration=calib, method="magic")
    with pytest.raises(edgekit.Error, match="missing.onnx"):
        edgekit.quantize(d / "missing.onnx", out, calibration=calib)
    with pytest.raises(edgekit.Error, match="calibration data not found"):
        edgekit.quantize(fp32, out, calibration=d / "missing.npz")
    with pytest.raises(edgekit.Error, match="threads must be at least 1"):
        edgekit.quantize(fp32, out, calibration=calib, threads=0)
    with pytest.raises(TypeError, match="batch must be an int"):
        edgekit.quantize(fp32, out, calibration=calib, batch="8")
    with pytest.warns(UserWarning, match="--exclude 'nothing' names no node"):
        edgekit.quantize(fp32, out, calibration=calib, exclude=["nothing"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edgekit.quantize(fp32, out, calibration=calib)  # no warning when there is nothing to say


def test_format_and_weight_range_match_the_cli(setup):
    d, fp32, calib, x = setup
    cli_quantize(fp32, "-o", d / "cli.ekm", "--calibration", calib, "--format", "ekm", "--weight-range", "mse")
    edgekit.quantize(fp32, d / "py.ekm", calibration=calib, format="ekm", weight_range="mse")
    assert (d / "py.ekm").read_bytes() == (d / "cli.ekm").read_bytes()
    ref = edgekit.Session(fp32).run(x)[0]
    got = edgekit.Session(d / "py.ekm").run(x)[0]
    assert 10 * np.log10((ref ** 2).sum() / ((ref - got) ** 2).sum()) > 20


def image_folder(d, n=6):
    """8x8 grey PGM files the test CNN's input is made from."""
    folder = d / "images"
    folder.mkdir(exist_ok=True)
    pixels = np.random.default_rng(1).integers(0, 256, size=(n, 8, 8), dtype=np.uint8)
    for i, img in enumerate(pixels):
        (folder / f"img{i}.pgm").write_bytes(b"P5\n8 8\n255\n" + img.tobytes())
    return folder, pixels


def test_image_preprocessing_matches_the_cli(setup):
    d, fp32, _, _ = setup
    folder, pixels = image_folder(d)
    cli_quantize(fp32, "-o", d / "cli_img.onnx", "--calibration", folder, "--mean", "0.4", "--std", "0.25",
                 "--image-size", "8x8", "--layout", "NCHW")
    edgekit.quantize(fp32, d / "py_img.onnx", calibration=folder, mean=0.4, std=[0.25], image_size=8, layout="NCHW")
    assert (d / "py_img.onnx").read_bytes() == (d / "cli_img.onnx").read_bytes()
    # The same pixels as arrays give the same model: the preprocessing is what the kwargs say.
    x = ((pixels.astype(np.float32) / 255 - np.float32(0.4)) / np.float32(0.25))[:, None]
    edgekit.quantize(fp32, d / "py_arr.onnx", calibration=x)
    assert (d / "py_arr.onnx").read_bytes() == (d / "cli_img.onnx").read_bytes()
    # A compiled model's stored preprocessing is the default.
    r = subprocess.run([str(CLI), "compile", str(fp32), "-o", str(d / "pre.ekm"), "--mean", "0.4", "--std", "0.25"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    edgekit.quantize(d / "pre.ekm", d / "py_stored.onnx", calibration=folder)
    edgekit.quantize(d / "pre.ekm", d / "py_stored_arr.onnx", calibration=x)
    assert (d / "py_stored.onnx").read_bytes() == (d / "py_stored_arr.onnx").read_bytes()


def test_image_preprocessing_errors(setup):
    d, fp32, calib, x = setup
    folder, _ = image_folder(d)
    out = d / "bad.onnx"
    cases = [
        (dict(calibration=folder, mean=[0.1, 0.2]), "mean has 2 values but the input has 1 channel"),
        (dict(calibration=folder, mean=[0.1, 0.2], std=[1.0]), "mean has 2 values but std has 1"),
        (dict(calibration=folder, std=0), "std 0: every value must be positive"),
        (dict(calibration=folder, mean=[]), "mean must be a number or a non-empty list"),
        (dict(calibration=folder, mean=float("nan")), "mean must be a number or a non-empty list"),
        (dict(calibration=folder, layout="CHW"), "layout 'CHW': expected 'NCHW' or 'NHWC'"),
        (dict(calibration=folder, image_size=(8, 0)), "image_size \\(8, 0\\): expected a positive int"),
        (dict(calibration=folder, image_size=9), "image height 9 but input"),
        (dict(calibration=calib, mean=0.5), "apply to a calibration folder of images; .*calib.npz is not one"),
        (dict(calibration=x, std=0.5), "calibration is not a path"),
        (dict(calibration=folder, format="tflite"), "format tflite: expected onnx or ekm"),
        (dict(calibration=folder, weight_range="min"), "weight_range 'min': expected 'max' or 'mse'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(edgekit.Error, match=message):
            edgekit.quantize(fp32, out, **kwargs)
