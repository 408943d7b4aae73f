#!/usr/bin/env python3
"""Writes the tiny .npy/.npz fixtures used by tests/formats/test_npy.cpp, with numpy itself.

Run from anywhere: python3 tests/formats/data/npy/make_fixtures.py (files land next to this script).
Values follow one rule so the C++ test can recompute them: element k of a fixture is k - 2
converted to the dtype (bool: k % 2 == 1), shape (2, 3) unless the name says otherwise.
"""
import os
import zipfile

import numpy as np
from numpy.lib import format as npf

here = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(here, name)


def ramp(dtype, shape=(2, 3)):
    n = int(np.prod(shape))
    if dtype == "|b1":
        return (np.arange(n) % 2 == 1).reshape(shape)
    return (np.arange(n) - 2).astype(np.int64).astype(dtype).reshape(shape)


for descr in ["<f4", "<f8", "<f2", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "|b1"]:
    tag = descr[1:]
    np.save(path(f"ramp_{tag}.npy"), ramp(descr))

np.save(path("scalar_f4.npy"), np.float32(-2.0))
np.save(path("empty_0x3_f4.npy"), np.zeros((0, 3), np.float32))
# Fortran order, shape (2, 3, 4): numpy writes the column-major bytes with fortran_order True.
np.save(path("fortran_2x3x4_f4.npy"), np.asfortranarray(ramp("<f4", (2, 3, 4))))
for version in [(2, 0), (3, 0)]:
    with open(path(f"v{version[0]}_f4.npy"), "wb") as f:
        npf.write_array(f, ramp("<f4"), version=version)

# Bad inputs numpy can write.
np.save(path("bigendian_f4.npy"), ramp(">f4"))
np.save(path("object.npy"), np.array([1, "a"], dtype=object), allow_pickle=True)
np.save(path("structured.npy"), np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))

# .npz stored (np.savez) and deflated (np.savez_compressed).
np.savez(path("pair.npz"), x=ramp("<f4"), idx=ramp("<i8", (4,)))
np.savez_compressed(path("pair_deflated.npz"), x=ramp("<f4"), idx=ramp("<i8", (4,)))
