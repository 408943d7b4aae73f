"""The device runtime as shipped: edgekit-rt-minimal on libedgekit_rt.a and the same program on
libedgekit_rt.so run a compiled model to the same outputs and report a damaged file in one line,
so what the shared library exports (core/api.h's EDGEKIT_API) is enough; and it exports nothing
else of edgekit (no kernels, passes or SIMD targets)."""
import subprocess

import pytest

from pyhelpers import BUILD, ZOO_MODEL, run_cli as edgekit

MODEL = ZOO_MODEL / "model.onnx"
LIB = BUILD / "src" / "runtime" / "libedgekit_rt.so"
PROGRAMS = [BUILD / "edgekit-rt-minimal", BUILD / "edgekit-rt-minimal-shared"]
needs_build = pytest.mark.skipif(not all(p.exists() for p in PROGRAMS + [LIB]), reason="runtime programs not built (make build)")
needs_zoo = pytest.mark.skipif(not MODEL.exists(), reason=f"no zoo model at {MODEL} (set EDGEKIT_ZOO_DIR)")


def outputs_of(program, model):
    r = subprocess.run([str(program), str(model), "2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.splitlines() if not line.endswith("ms per run")]


@needs_build
@needs_zoo
def test_static_and_shared_runtime_run_a_compiled_model_alike(cli, tmp_path):
    ekm = tmp_path / "kws.ekm"
    r = edgekit(cli, "compile", MODEL, "-o", ekm)
    assert r.returncode == 0, r.stderr
    static, shared = (outputs_of(p, ekm) for p in PROGRAMS)
    assert static and static == shared
    assert static[0].startswith("output f32 [1,12]")


@needs_build
def test_shared_runtime_reports_a_damaged_file_in_one_line(tmp_path):
    bad = tmp_path / "bad.ekm"
    bad.write_bytes(b"not a model")
    for program in PROGRAMS:
        r = subprocess.run([str(program), str(bad)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        assert r.stderr.count("\n") == 1 and "not an .ekm file" in r.stderr


@needs_build
def test_shared_runtime_exports_only_the_public_api():
    out = subprocess.run(["nm", "-D", "-C", "--defined-only", str(LIB)], capture_output=True, text=True, check=True).stdout
    names = [line.split(" ", 2)[2] for line in out.splitlines() if line.count(" ") >= 2]
    ours = [n for n in names if n.startswith(("edgekit::", "edgekit::Tensor edgekit::")) or " for edgekit::" in n]
    assert any(name.startswith("edgekit::Session::run(") for name in ours)
    public = ("edgekit::Session::", "edgekit::Tensor", "edgekit::Graph::", "edgekit::Node::", "edgekit::ValueInfo::",
              "edgekit::Error", "edgekit::detail::", "edgekit::dtype_", "edgekit::onnx_", "edgekit::shape_",
              "edgekit::allocate_aligned(", "edgekit::verify(", "edgekit::read_ekm", "edgekit::has_ekm_magic(",
              "edgekit::load_model_file(", "edgekit::set_model_importer(")
    extra = ("typeinfo for edgekit::Error", "typeinfo name for edgekit::Error", "vtable for edgekit::Error",
             "edgekit::Tensor edgekit::Tensor::from<")  # Tensor::from<T> instantiated inside, weak
    stray = [name for name in ours if not name.startswith(public + extra)]
    assert not stray, stray[:10]
