#!/usr/bin/python3
"""Fingerprints of the data that ensembles and checkpoints hold, and their comparison with recorded ones.

A bit-exact digest of floating-point data depends on the machine as well as on the code: GCC's -march=native
tuning for AMD Zen avoids the FMA chains that its Intel tuning contracts, and glibc picks its libm code by CPU, so
the same commit gives other last bits on another CI machine. A fingerprint keeps exact what must not change at all,
every dataset's name, shape and type and the bytes of every integer dataset (steps, chain ids, acceptance flags),
and reduces a floating-point dataset x to four projections p_k = sum_i w_ki x_i on fixed random vectors w_k, with
scale s = sum_i |w_1i x_i|. Two runs match when every |p_k - p_k'| <= sqrt(eps) s, eps the dataset's machine
epsilon: rounding moves a projection by about eps s, while a moved random stream, record or formula changes
elements by far more than sqrt(eps) relative. Attributes are left out: they carry the time, host and paths.

    ensemble_fingerprint.py record REFERENCE.json FILE...   # write the fingerprints of FILEs
    ensemble_fingerprint.py check REFERENCE.json FILE...    # compare FILEs with them; exit 1 on a difference
"""
import hashlib
import json
import os
import sys

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402
import numpy as np  # noqa: E402

PROJECTIONS = 4


def weights(n):
    # RandomState, not Generator: NumPy keeps its streams fixed across versions.
    return np.random.RandomState(20261202).standard_normal((PROJECTIONS, n))


def fingerprint(path):
    prints = {}
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(names):
            data = np.ascontiguousarray(f[name][()])
            entry = {"shape": list(data.shape), "dtype": data.dtype.str}
            if data.dtype.kind == "f":
                x = data.astype(np.float64).ravel()
                w = weights(x.size)
                entry["projections"] = [float(p) for p in w @ x]
                entry["scale"] = float(np.abs(w[0] * x).sum())
            else:
                entry["sha256"] = hashlib.sha256(data.tobytes()).hexdigest()
            prints[name] = entry
    return prints


def differences(name, expected, actual):
    """The ways dataset `name` differs from its recorded fingerprint, and its relative deviation."""
    if actual is None:
        return [f"{name}: missing"], 0.0
    for key in ("shape", "dtype", "sha256"):
        if expected.get(key) != actual.get(key):
            return [f"{name}: {key} {actual.get(key)} instead of {expected.get(key)}"], 0.0
    if "projections" not in expected:
        return [], 0.0
    deviation = max(abs(a - e) for a, e in zip(actual["projections"], expected["projections"]))
    relative = deviation / expected["scale"] if expected["scale"] > 0 else deviation
    if relative > np.sqrt(np.finfo(np.dtype(expected["dtype"])).eps):
        return [f"{name}: values differ, relative deviation {relative:.2e}"], relative
    return [], relative


def check(reference, paths):
    failed = False
    for path in paths:
        key = os.path.basename(path)
        expected, actual = reference[key], fingerprint(path)
        problems = [f"{name}: not recorded" for name in sorted(set(actual) - set(expected))]
        worst = 0.0
        for name in sorted(expected):
            found, relative = differences(name, expected[name], actual.get(name))
            problems += found
            worst = max(worst, relative)
        if problems:
            failed = True
            print(f"FAIL {key}:\n  " + "\n  ".join(problems), file=sys.stderr)
        else:
            exact = "exactly" if worst == 0 else f"to rounding (largest relative deviation {worst:.1e})"
            print(f"same data as recorded {exact}: {key}")
    return not failed


def main(argv):
    if len(argv) < 3 or argv[0] not in ("record", "check"):
        sys.exit(__doc__)
    mode, reference_path, paths = argv[0], argv[1], argv[2:]
    if mode == "record":
        with open(reference_path, "w") as out:
            json.dump({os.path.basename(p): fingerprint(p) for p in paths}, out, indent=1, sort_keys=True)
            out.write("\n")
        return
    with open(reference_path) as f:
        reference = json.load(f)
    if not check(reference, paths):
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
