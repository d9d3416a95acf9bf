"""Reproducible HDF5 fixtures for the golden tests (scripts/gen_fixtures_*.py):
no timestamps, the HDF5 1.8 format, written under a temporary name and
renamed, so regenerating a fixture gives the same bytes."""
import contextlib
import os

import h5py
import numpy as np


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def put(g, name, data):
    g.create_dataset(name, data=data, track_times=False)


@contextlib.contextmanager
def fixture(path, generator, torch_version, spec=None):
    """An open h5py.File for path, with the generator's attributes; renamed
    into place when the block ends without an error."""
    out = os.path.normpath(path)
    tmp = out + ".tmp"
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V18, h5py.h5f.LIBVER_V18)
    fid = h5py.h5f.create(tmp.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl)
    with h5py.File(fid) as h5:
        h5.attrs["generator"] = np.bytes_(generator.encode())
        h5.attrs["torch_version"] = np.bytes_(torch_version.encode())
        if spec is not None:
            h5.attrs["spec"] = np.bytes_(spec.encode("ascii"))
        yield h5
    os.replace(tmp, out)
