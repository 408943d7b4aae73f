#!/usr/bin/env bash
# make demo: the main job end to end on a small model from the zoo (a keyword-spotting DS-CNN
# exported from PyTorch by make fixtures): inspect it, run it, check the answer, benchmark it.
set -euo pipefail
cli=${1:?usage: demo.sh EDGEKIT_CLI MODEL_DIR}
dir=${2:?usage: demo.sh EDGEKIT_CLI MODEL_DIR}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
py=${PYTHON:-python3}

echo "== edgekit inspect $dir/model.onnx"
"$cli" inspect "$dir/model.onnx"
echo
echo "== edgekit run (input: $dir/input_0.npy)"
"$cli" run "$dir/model.onnx" --input "$dir/input_0.npy" --output-dir "$out"
echo
echo "== compare with PyTorch's output for the same input"
"$py" - "$out/output.npy" "$dir/output_0.npy" <<'PY'
import sys, numpy as np
got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
err = float(np.abs(got - want).max())
print(f"max |edgekit - pytorch| = {err:.2e} (output max {float(np.abs(want).max()):.3f}); "
      f"class edgekit {int(got.argmax())}, pytorch {int(want.argmax())}")
sys.exit(0 if err <= 1e-3 * float(np.abs(want).max()) else 1)
PY
echo
echo "== edgekit bench --runs 200"
"$cli" bench "$dir/model.onnx" --runs 200 --warmup 20
