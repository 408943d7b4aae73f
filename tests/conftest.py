"""Paths shared by the Python tests; every test that needs something absent skips and says why."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("EDGEKIT_BUILD_DIR", ROOT / "build"))
FIXTURES = pathlib.Path(os.environ.get("EDGEKIT_FIXTURES", ROOT / "fixtures"))
SHARED = pathlib.Path(os.environ.get("EDGEKIT_SHARED", ROOT.parent / "shared"))
ZOO = pathlib.Path(os.environ.get("EDGEKIT_ZOO_DIR", FIXTURES / "zoo"))
MLPERF = pathlib.Path(os.environ.get("EDGEKIT_MLPERF_DIR", SHARED / "models" / "mlperf-tiny"))
CLI = BUILD / "edgekit"


def zoo_models():
    return sorted(p.name for p in ZOO.iterdir() if (p / "model.onnx").exists()) if ZOO.is_dir() else []


@pytest.fixture
def cli():
    if not CLI.exists():
        pytest.skip(f"{CLI} is not built (run make build)")
    return str(CLI)
