#!/usr/bin/python3
"""Checks that two ensemble files hold the same chains record for record (bit-exact), and that every chain's
steps are strictly increasing with no duplicate: used by the kill/resume and rank-count tests."""
import os
import sys

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402
import numpy as np  # noqa: E402


def records(path):
    with h5py.File(path, "r") as f:
        n = int(f["configs"].attrs["n_complete"])
        data = {"step": f["configs/step"][:, :n]}
        if "phi" in f["configs"]:
            data["phi"] = f["configs/phi"][:, :n]
        for name in f["records"]:
            data["records/" + name] = f["records"][name][:, :n]
        return n, data


def main(a, b, expected_records):
    na, da = records(a)
    nb, db = records(b)
    assert na == nb == expected_records, f"records per chain: {a}: {na}, {b}: {nb}, expected {expected_records}"
    assert da.keys() == db.keys(), f"datasets differ: {sorted(da)} vs {sorted(db)}"
    for key in da:
        assert np.array_equal(da[key], db[key]), f"{key} differs between {a} and {b}"
    steps = da["step"]
    assert np.all(np.diff(steps, axis=1) > 0), "steps not strictly increasing within a chain"
    print(f"identical: {na} records per chain, {steps.shape[0]} chains, datasets {sorted(da)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
