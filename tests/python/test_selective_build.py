"""Selective builds of the device runtime: `edgekit ops` lists what models run, CMake keeps only
the op files that register those ops (cmake/selective_ops.cmake), and the runtime built that way
(make runtime-selective, into build-rt/) runs the models it was built for and names the build
when it meets an op it left out."""
import json
import pathlib
import re
import subprocess

import pytest

from pyhelpers import BUILD, ZOO_MODEL, make_add_relu_model, run_cli as edgekit

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ZOO_MODEL / "model.onnx"
RT_BUILD = ROOT / "build-rt"
RT_MINIMAL = RT_BUILD / "edgekit-rt-minimal"
needs_zoo = pytest.mark.skipif(not MODEL.exists(), reason=f"no zoo model at {MODEL} (set EDGEKIT_ZOO_DIR)")
needs_selective = pytest.mark.skipif(not RT_MINIMAL.exists(), reason="no selective runtime (make runtime-selective)")


def listed_ops(path):
    return [l for l in pathlib.Path(path).read_text().splitlines() if l and not l.startswith("#")]


def test_cmake_reads_every_op_the_full_build_registers(cli):
    """What the configure step reads from the op files is exactly the registry of a full build."""
    r = subprocess.run(["cmake", f"-DOPS_DIR={ROOT / 'src/kernels/ops'}", "-P", str(ROOT / "cmake/selective_ops.cmake")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    from_cmake = r.stderr.split()  # message() prints to stderr
    supported = edgekit(cli, "ops", "--supported")
    assert supported.returncode == 0, supported.stderr
    assert from_cmake == supported.stdout.split()
    assert "com.edgekit:ConvNhwc" in from_cmake and "ReduceMean" in from_cmake and len(from_cmake) > 100


@needs_zoo
def test_ops_of_a_model_and_of_its_compiled_file_agree(cli, tmp_path):
    listing, ekm = tmp_path / "ops.txt", tmp_path / "kws.ekm"
    r = edgekit(cli, "ops", MODEL, "-o", listing)
    assert r.returncode == 0, r.stderr
    ops = listed_ops(listing)
    assert "com.edgekit:ConvNhwc" in ops and "Conv" not in ops  # as optimised, not as imported
    assert edgekit(cli, "compile", MODEL, "-o", ekm).returncode == 0
    j = edgekit(cli, "ops", ekm, "--json")
    assert j.returncode == 0, j.stderr
    assert json.loads(j.stdout)["ops"] == ops


def test_ops_bad_input_is_one_clear_line(cli, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    cases = [
        ((), "no MODEL given"),
        ((bad,), "bad.onnx"),
        (("--supported", bad), "takes no MODEL"),
        ((bad, "--opt-level", "7"), "--opt-level"),
    ]
    for args, message in cases:
        r = edgekit(cli, "ops", *args)
        assert r.returncode != 0, args
        assert message in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)


@needs_zoo
def test_ops_unwritable_output_is_an_error(cli, tmp_path):
    r = edgekit(cli, "ops", MODEL, "-o", tmp_path / "missing" / "ops.txt")
    assert r.returncode == 1 and "cannot open for writing" in r.stderr


def configure(tmp_path, ops_file):
    return subprocess.run(["cmake", "-S", str(ROOT), "-B", str(tmp_path / "b"), "-G", "Ninja",
                           f"-DEDGEKIT_RT_OPS={ops_file}"], capture_output=True, text=True, timeout=300)


def test_configure_refuses_an_op_no_kernel_registers(tmp_path):
    ops = tmp_path / "ops.txt"
    ops.write_text("# a typo must not build a runtime that rejects the model on the device\nAdd\nBogusOp\n")
    r = configure(tmp_path, ops)
    assert r.returncode != 0
    assert "no kernel file registers op 'BogusOp'" in re.sub(r"\s+", " ", r.stderr)


def test_configure_refuses_a_missing_ops_file(tmp_path):
    r = configure(tmp_path, tmp_path / "absent.txt")
    assert r.returncode != 0 and "no such file" in r.stderr


def outputs_of(program, model):
    r = subprocess.run([str(program), str(model)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [[float(v) for v in line.split()[3:]] for line in r.stdout.splitlines() if not line.endswith("ms per run")]


@needs_zoo
@needs_selective
def test_selective_runtime_runs_its_models_as_the_full_one_does(cli, tmp_path):
    ekm = tmp_path / "kws.ekm"
    assert edgekit(cli, "compile", MODEL, "-o", ekm).returncode == 0
    full, selective = outputs_of(BUILD / "edgekit-rt-minimal", ekm), outputs_of(RT_MINIMAL, ekm)
    assert full and len(full) == len(selective)
    for a, b in zip(full, selective):
        # The selective build is compiled for one CPU (-march): its scalar code may contract a
        # multiply and an add into one FMA, so the last printed digit can differ.
        assert a == pytest.approx(b, rel=1e-4, abs=1e-6)


@needs_selective
def test_selective_runtime_names_the_build_for_an_op_it_left_out(cli, tmp_path):
    onnx = pytest.importorskip("onnx", reason="the onnx package writes the test model")
    ekm = tmp_path / "add_relu.ekm"
    model = make_add_relu_model(tmp_path / "add_relu.onnx", onnx)
    assert edgekit(cli, "compile", model, "-o", ekm).returncode == 0
    ops = listed_ops(RT_BUILD / "ops.txt")
    assert "Relu" not in ops, "the selective build's models use Relu unfused; pick another op for this test"
    r = subprocess.run([str(RT_MINIMAL), str(ekm)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "unsupported op 'Relu'" in r.stderr and "selective build" in r.stderr and r.stderr.count("\n") == 1
