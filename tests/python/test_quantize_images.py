"""edgekit quantize --calibration FOLDER_OF_IMAGES: images decoded and preprocessed (mean, std,
layout, size from the options or the .ekm's metadata) give the same quantized model as the same
pixels given as a .npz; and a one-line error for every bad folder or option."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conftest import ZOO  # noqa: E402

MEAN, STD = 0.286, 0.353


def fashion():
    p = ZOO / "fashion_cnn" / "model.onnx"
    if not p.exists():
        pytest.skip(f"{p} not found (make fixtures)")
    return p


def edgekit(cli, *args):
    return subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=300)


def pixels(n=12):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def image_folder(tmp_path, images, name="images"):
    """Binary PGM files (stb reads PNM) of the images, one a file."""
    folder = tmp_path / name
    folder.mkdir()
    for i, img in enumerate(images):
        (folder / f"img{i:03d}.pgm").write_bytes(b"P5\n28 28\n255\n" + img.tobytes())
    return folder


def npz_of(tmp_path, x):
    p = tmp_path / "same.npz"
    np.savez(p, input=x.astype(np.float32))
    return p


def test_images_quantize_as_their_pixels_do(cli, tmp_path):
    m, imgs = fashion(), pixels()
    folder = image_folder(tmp_path, imgs)
    from_images, from_npz = tmp_path / "images.onnx", tmp_path / "npz.onnx"
    r = edgekit(cli, "quantize", m, "-o", from_images, "--calibration", folder, "--mean", MEAN, "--std", STD)
    assert r.returncode == 0, r.stderr
    x = ((imgs.astype(np.float32) / 255 - np.float32(MEAN)) / np.float32(STD))[:, None]
    r = edgekit(cli, "quantize", m, "-o", from_npz, "--calibration", npz_of(tmp_path, x))
    assert r.returncode == 0, r.stderr
    assert from_images.read_bytes() == from_npz.read_bytes()


def test_a_compiled_models_stored_preprocessing_is_used(cli, tmp_path):
    m, imgs = fashion(), pixels()
    ekm = tmp_path / "fm.ekm"
    assert edgekit(cli, "compile", m, "-o", ekm, "--mean", MEAN, "--std", STD).returncode == 0
    folder = image_folder(tmp_path, imgs)
    from_images, from_npz = tmp_path / "images.onnx", tmp_path / "npz.onnx"
    r = edgekit(cli, "quantize", ekm, "-o", from_images, "--calibration", folder)
    assert r.returncode == 0, r.stderr
    x = ((imgs.astype(np.float32) / 255 - np.float32(MEAN)) / np.float32(STD))[:, None]
    assert edgekit(cli, "quantize", ekm, "-o", from_npz, "--calibration", npz_of(tmp_path, x)).returncode == 0
    assert from_images.read_bytes() == from_npz.read_bytes()


def test_bad_image_folders_and_options_are_one_line_errors(cli, tmp_path):
    m = fashion()
    good = image_folder(tmp_path, pixels(2))
    mixed = image_folder(tmp_path, pixels(2), "mixed")
    np.save(mixed / "x.npy", np.zeros((1, 1, 28, 28), np.float32))
    broken = image_folder(tmp_path, pixels(2), "broken")
    (broken / "img001.pgm").write_bytes(b"P5\n28 28\n255\n" + b"\0" * 10)  # truncated
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no data here")
    npz = npz_of(tmp_path, np.zeros((2, 1, 28, 28)))
    out = tmp_path / "q.onnx"
    cases = [
        (("--calibration", mixed), "holds both .npy files (1) and images (2)"),
        (("--calibration", broken), "img001.pgm: PNM pixel data truncated"),
        (("--calibration", empty), "holds no .npy files or images"),
        (("--calibration", good, "--mean", "0.1,0.2"), "mean has 2 values but the input has 1 channel"),
        (("--calibration", good, "--std", "0"), "--std 0: every value must be positive"),
        (("--calibration", good, "--layout", "NHWC"), "in NHWC has 28 channels"),
        (("--calibration", good, "--image-size", "32x32"), "image height 32 but input 'input'"),
        (("--calibration", npz, "--mean", "0.3"), "apply to a folder of images"),
        (("--mode", "dynamic", "--mean", "0.3"), "give --calibration"),
    ]
    for args, message in cases:
        r = edgekit(cli, "quantize", m, "-o", out, *args)
        assert r.returncode == 1, (args, r.stdout)
        assert message in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
