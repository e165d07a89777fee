#!/usr/bin/python3
"""SHA-256 of the data an ensemble or checkpoint holds: every dataset's name, shape, type and bytes, in name order.
Attributes are left out, since they carry the time, host and paths of the run; the data alone decide whether two
runs of the same input produced the same Markov chains bit for bit."""
import hashlib
import sys

import h5py
import numpy as np


def digest(path):
    h = hashlib.sha256()
    items = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: items.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(items):
            data = np.ascontiguousarray(f[name][()])
            h.update(f"{name} {data.shape} {data.dtype.str}\n".encode())
            h.update(data.tobytes())
    return h.hexdigest()


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(digest(path), path)
