"""CLI options of the speed work: --opt-level, inspect --plan, bench --profile."""
import json
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from conftest import ZOO  # noqa: E402

MODEL = ZOO / "ic_resnet8" / "model.onnx"
needs_zoo = pytest.mark.skipif(not MODEL.exists(), reason=f"{MODEL} absent (make fixtures)")


def run(cli, *args):
    return subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=300)


@needs_zoo
def test_inspect_opt_level_and_plan(cli):
    plain = json.loads(run(cli, "inspect", MODEL, "--json").stdout)
    r = run(cli, "inspect", MODEL, "--json", "--opt-level", "3", "--plan")
    assert r.returncode == 0, r.stderr
    opt = json.loads(r.stdout)
    assert opt["nodes"] < plain["nodes"]  # Relu fused into Conv
    assert opt["ops"].get("Relu", 0) < plain["ops"]["Relu"]
    plan = opt["memory_plan"]
    assert 0 < plan["arena_bytes"] < plan["naive_bytes"]


@needs_zoo
def test_run_same_answer_at_every_level(cli, tmp_path):
    outs = []
    for level in range(4):
        d = tmp_path / str(level)
        r = run(cli, "run", MODEL, "--input", MODEL.parent / "input_0.npy", "--output-dir", d, "--opt-level", level)
        assert r.returncode == 0, r.stderr
        outs.append(np.load(d / "output.npy"))
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-4, atol=1e-5)


@needs_zoo
def test_bench_profile_writes_chrome_trace(cli, tmp_path):
    trace = tmp_path / "trace.json"
    r = run(cli, "bench", MODEL, "--runs", "3", "--warmup", "1", "--profile", trace, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    ops = {o["op"]: o for o in j["profile"]["ops"]}
    assert ops["com.edgekit:ConvNhwc"]["gflops"] > 0  # level 3 runs convolutions in NHWC
    events = json.loads(trace.read_text())["traceEvents"]
    assert events and all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    assert {e["args"]["run"] for e in events} == {1, 2, 3}  # the timed runs only
    human = run(cli, "bench", MODEL, "--runs", "2", "--profile", tmp_path / "t2.json")
    assert "Profile (2 runs" in human.stdout and "GFLOP/s" in human.stdout


@needs_zoo
def test_bad_opt_level_is_a_usage_error(cli):
    r = run(cli, "run", MODEL, "--input", MODEL.parent / "input_0.npy", "--opt-level", "7")
    assert r.returncode == 2
    assert "opt-level" in r.stderr


@needs_zoo
def test_unwritable_profile_path(cli):
    r = run(cli, "bench", MODEL, "--runs", "1", "--profile", "/nonexistent/dir/trace.json")
    assert r.returncode == 1
    assert "cannot write the profile" in r.stderr


@needs_zoo
def test_python_opt_levels_agree():
    edgekit = pytest.importorskip("edgekit", reason="Python package not built (make build)")
    x = np.load(MODEL.parent / "input_0.npy")
    ys = [edgekit.Session(MODEL, opt_level=level).run(x)[0] for level in range(4)]
    for y in ys[1:]:
        np.testing.assert_allclose(y, ys[0], rtol=1e-4, atol=1e-5)
    with pytest.raises(edgekit.Error, match="optimization level"):
        edgekit.Session(MODEL, opt_level=9)
