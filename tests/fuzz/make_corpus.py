#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target (tests/fuzz/fuzz_<target>.cpp) from files that
already exist: nothing binary is committed for fuzzing except the small regression inputs
under tests/formats/data.

  onnx_import    fixtures/onnx/node/*/model.onnx (one small model per ONNX op test) and the
                 zoo's model.onnx files up to --max-model-bytes
  tflite_import  small float models of one or two ops each (tflite_seeds.py, needs the
                 flatbuffers package) and ../shared/models/mlperf-tiny/*.tflite (float and
                 int8), when present
  npy            the zoo's input_*.npy / output_*.npy up to --max-array-bytes, and
                 tests/formats/data/npy/*.npy
  npz            tests/formats/data/npy/*.npz, and .npz files written here from the small
                 .npy seeds, stored and deflated, as np.savez and np.savez_compressed do
  image          small PNG, BMP, PGM and PPM images written here (grey and RGB, odd sizes)
  ekm_load       the small zoo models and a few ONNX node tests compiled to .ekm by --edgekit
                 (the fuzz build's own CLI), at opt levels 0 and 3

Regression inputs found by fuzzing (tests/formats/data/fuzz/*.<ext>) join the target of their
extension. Each output folder is emptied first; file names are <source>-<sha1 prefix>.

  python3 tests/fuzz/make_corpus.py --fixtures fixtures --mlperf ../shared/models/mlperf-tiny \
      --edgekit build-fuzz/edgekit --out build-fuzz/seeds
"""
import argparse
import hashlib
import io
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent / "formats" / "data"


def small(paths, limit):
    return [p for p in sorted(paths) if p.is_file() and p.stat().st_size <= limit]


def npz_bytes(arrays, compress):
    """A .npz of already serialized .npy files, laid out as numpy writes one."""
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in arrays:
            z.writestr(name + ".npy", data)
    return out.getvalue()


def write_seeds(folder, seeds):
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    seen = set()
    for label, data in seeds:
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        (folder / f"{label}-{digest[:12]}").write_bytes(data)
    return len(seen), sum(len(d) for _, d in seeds)


def image_seeds():
    """(label, bytes) of small images in the formats edgekit decodes, written without PIL."""
    import struct
    import zlib

    def pixels(w, h, c):
        return bytes((17 * x + 29 * y + 71 * k) % 256 for y in range(h) for x in range(w) for k in range(c))

    def png(w, h, c):
        raw = b"".join(b"\0" + pixels(w, h, c)[y * w * c:(y + 1) * w * c] for y in range(h))
        chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if c == 1 else 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")

    def bmp(w, h):
        row = (w * 3 + 3) // 4 * 4
        data = b"".join(pixels(w, h, 3)[y * w * 3:(y + 1) * w * 3].ljust(row, b"\0") for y in range(h))
        info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
        return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(data), 0, 0, 54) + info + data

    def pnm(w, h, c):
        return (b"P5" if c == 1 else b"P6") + b"\n%d %d\n255\n" % (w, h) + pixels(w, h, c)

    seeds = []
    for w, h in [(1, 1), (3, 2), (8, 8), (13, 5)]:
        seeds += [(f"png{w}x{h}g", png(w, h, 1)), (f"png{w}x{h}rgb", png(w, h, 3)), (f"bmp{w}x{h}", bmp(w, h)),
                  (f"pgm{w}x{h}", pnm(w, h, 1)), (f"ppm{w}x{h}", pnm(w, h, 3))]
    return seeds


def compiled(edgekit, models, levels=(0, 3)):
    """(label, .ekm bytes) of each model compiled at each level; models it refuses are skipped."""
    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in models:
            for level in levels:
                out = pathlib.Path(tmp) / f"{label}-{level}.ekm"
                r = subprocess.run([str(edgekit), "compile", str(path), "-o", str(out), "--opt-level", str(level)],
                                   capture_output=True, text=True, timeout=300)
                if r.returncode == 0:
                    seeds.append((f"{label}-O{level}", out.read_bytes()))
    return seeds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", type=pathlib.Path, required=True, help="make fixtures' output folder")
    ap.add_argument("--mlperf", type=pathlib.Path, required=True, help="folder of the MLPerf Tiny .tflite files")
    ap.add_argument("--out", type=pathlib.Path, required=True, help="one subfolder per target is written here")
    ap.add_argument("--edgekit", type=pathlib.Path, help="edgekit CLI that compiles the .ekm seeds")
    ap.add_argument("--ekm-node-tests", type=int, default=40, help="ONNX node tests compiled to .ekm seeds")
    ap.add_argument("--max-model-bytes", type=int, default=1 << 20)
    ap.add_argument("--max-array-bytes", type=int, default=64 << 10)
    args = ap.parse_args()

    zoo, node = args.fixtures / "zoo", args.fixtures / "onnx" / "node"
    regressions = DATA / "fuzz"
    onnx = [(p.parent.name, p.read_bytes()) for p in small(node.glob("*/model.onnx"), args.max_model_bytes)]
    onnx += [(p.parent.name, p.read_bytes()) for p in small(zoo.glob("*/model.onnx"), args.max_model_bytes)]
    onnx += [(p.stem, p.read_bytes()) for p in small(regressions.glob("*.onnx"), args.max_model_bytes)]
    tflite = [(p.stem, p.read_bytes()) for p in small(args.mlperf.glob("*.tflite"), 4 * args.max_model_bytes)]
    try:
        sys.path.insert(0, str(HERE))
        import tflite_seeds
        tflite += tflite_seeds.seeds()
    except ImportError as e:
        print(f"make_corpus: no small .tflite seeds ({e}; apt-get install python3-flatbuffers)", file=sys.stderr)
    tflite += [(p.stem, p.read_bytes()) for p in small(regressions.glob("*.tflite"), args.max_model_bytes)]
    arrays = [(f"{p.parent.name}_{p.stem}", p) for p in small(zoo.glob("*/*.npy"), args.max_array_bytes)]
    arrays += [(p.stem, p) for p in small((DATA / "npy").glob("*.npy"), args.max_array_bytes)]
    arrays += [(p.stem, p) for p in small(regressions.glob("*.npy"), args.max_array_bytes)]
    npy = [(label, p.read_bytes()) for label, p in arrays]
    npz = [(p.stem, p.read_bytes()) for p in small(list((DATA / "npy").glob("*.npz")) + list(regressions.glob("*.npz")),
                                                   args.max_model_bytes)]
    for i in range(0, len(npy), 3):  # a few archives of two or three arrays each, both ways
        group = [(f"a{j}", data) for j, (_, data) in enumerate(npy[i:i + 3])]
        npz += [(f"stored{i}", npz_bytes(group, False)), (f"deflated{i}", npz_bytes(group, True))]

    ekm = []
    if args.edgekit and args.edgekit.exists():
        sources = [(p.parent.name, p) for p in small(zoo.glob("*/model.onnx"), args.max_model_bytes)]
        tests = small(node.glob("*/model.onnx"), 64 << 10)
        step = max(1, len(tests) // max(1, args.ekm_node_tests))
        sources += [(p.parent.name, p) for p in tests[::step]]
        ekm = compiled(args.edgekit, sources)
        ekm += [(p.stem, p.read_bytes()) for p in small(regressions.glob("*.ekm"), args.max_model_bytes)]
    else:
        print("make_corpus: no --edgekit, so no .ekm seeds", file=sys.stderr)

    if not onnx:
        print(f"make_corpus: no ONNX seeds under {args.fixtures} (run make fixtures)", file=sys.stderr)
    if not tflite:
        print(f"make_corpus: no .tflite seeds in {args.mlperf}", file=sys.stderr)
    for target, seeds in [("onnx_import", onnx), ("tflite_import", tflite), ("npy", npy), ("npz", npz), ("ekm_load", ekm),
                          ("image", image_seeds())]:
        count, size = write_seeds(args.out / target, seeds)
        print(f"make_corpus: {target}: {count} seeds, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
