"""Fuzzing the public API and the CLI: every call works (finite results) or raises a named error — never a silent
NaN/inf and never an unexpected exception type (a traceback for the user).

"Named" errors are ValueError and its subclasses (DataFormatError, ScaleError, ResourceError); anything else
(ZeroDivisionError, IndexError, OverflowError, RuntimeError, TypeError…) fails the test.
"""

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from clariant import cli
from clariant_core.data import JetFile
from clariant_core.group.irreps import Irrep
from clariant_core.group.lorentz import boost, random_sl2c, rotation, sl2c, to_so13
from clariant_core.network.baseline import ParticleFlowNetwork
from clariant_core.network.lgn import LGN, LGNConfig

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DTYPES = st.sampled_from([torch.float32, torch.float64])
ANY_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e3, max_value=1e3),
    st.sampled_from([0.0, -0.0, 1e-320, 1e308, 89.0, 710.0, 800.0]),
)


def _works_or_named(fn):
    """Run fn; return its result if it works, None if it raised a ValueError (named). Anything else propagates."""
    try:
        out = fn()
    except ValueError as e:
        assert str(e), "a named error must say what is wrong"
        event(f"refused: {type(e).__name__}")
        return None
    event("works")
    return out


def _finite(t):
    if t is None:
        return True
    t = t if isinstance(t, torch.Tensor) else torch.as_tensor(t)
    return bool(torch.isfinite(t).all())


# --- group functions --------------------------------------------------------------------------------------------
@FUZZ
@given(axis=st.lists(ANY_FLOAT, min_size=3, max_size=3), y=ANY_FLOAT, dtype=DTYPES)
def test_boost_and_rotation(axis, y, dtype):
    assert _finite(_works_or_named(lambda: boost(torch.tensor(axis, dtype=dtype), torch.tensor(y, dtype=dtype))))
    assert _finite(_works_or_named(lambda: rotation(torch.tensor(axis, dtype=dtype), torch.tensor(y, dtype=dtype))))


@FUZZ
@given(theta=st.lists(ANY_FLOAT, min_size=3, max_size=3), y=st.lists(ANY_FLOAT, min_size=3, max_size=3), dtype=DTYPES)
def test_sl2c_and_double_cover(theta, y, dtype):
    m = _works_or_named(lambda: sl2c(torch.tensor(theta, dtype=dtype), torch.tensor(y, dtype=dtype)))
    assert _finite(m)
    if m is not None:
        assert _finite(_works_or_named(lambda: to_so13(m)))


@FUZZ
@given(
    k=st.integers(0, 6),
    n=st.integers(0, 6),
    y=st.floats(0, 800),
    dtype=st.sampled_from([torch.complex64, torch.complex128]),
)
def test_irrep_matrices(k, n, y, dtype):
    m = _works_or_named(lambda: sl2c(boost=torch.tensor([0.3, 0.4, 0.5]) * y).to(dtype))
    if m is not None:
        assert _finite(_works_or_named(lambda: Irrep(k, n).matrix(m)))


@FUZZ
@given(shape=st.integers(0, 4), ymax=ANY_FLOAT, dtype=st.sampled_from([torch.complex64, torch.complex128]))
def test_random_elements(shape, ymax, dtype):
    assert _finite(_works_or_named(lambda: random_sl2c(shape, max_rapidity=ymax, dtype=dtype)))


# --- models -----------------------------------------------------------------------------------------------------
@st.composite
def jets(draw):
    b = draw(st.integers(0, 3))
    n = draw(st.integers(0, 5))
    dtype = draw(DTYPES)
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    direction = torch.randn(b, n, 3, generator=g, dtype=torch.float64)
    e = torch.rand(b, n, generator=g, dtype=torch.float64) * 100 + 0.5
    kind = draw(st.sampled_from(["massless", "massive", "spacelike", "zero", "random"]))
    unit = direction / torch.linalg.vector_norm(direction, dim=-1, keepdim=True).clamp_min(1e-300)
    speed = {"massless": 1.0, "massive": 0.5, "spacelike": 2.0, "zero": 0.0, "random": 1.0}[kind]
    p = torch.cat([e[..., None], unit * (e * speed)[..., None]], -1)
    if kind == "random":
        p = torch.randn(b, n, 4, generator=g, dtype=torch.float64) * 100
    scale = 10.0 ** draw(st.sampled_from([-300, -170, -40, -20, -3, 0, 3, 7, 9, 20, 40, 300]))
    p = (p * scale).to(dtype)
    mask = torch.rand(b, n, generator=g) < draw(st.floats(0, 1))
    if draw(st.booleans()) and n:
        mask[:, 0] = True
    if draw(st.booleans()) and b and n:
        p[0, 0, draw(st.integers(0, 3))] = draw(st.sampled_from([float("nan"), float("inf"), -1.0]))
    return p, mask


_LGN = {}


def _lgn(dtype):
    if dtype not in _LGN:
        torch.manual_seed(0)
        _LGN[dtype] = LGN(LGNConfig(channels=(2, 3, 2), mlp_hidden=8, output_hidden=8)).to(dtype)
    return _LGN[dtype]


@FUZZ
@given(x=jets(), grad=st.booleans())
def test_lgn_forward(x, grad):
    p, mask = x
    model = _lgn(p.dtype)
    with torch.set_grad_enabled(grad):
        out = _works_or_named(lambda: model(p.requires_grad_(grad), mask))
        assert _finite(out)
        if out is not None:
            assert out.shape == (p.shape[0], 2)
            if grad:
                out.sum().backward()


@FUZZ
@given(x=jets())
def test_pfn_forward(x):
    p, mask = x
    model = ParticleFlowNetwork().to(p.dtype)
    out = _works_or_named(lambda: model(p, mask))
    assert _finite(out)


# --- files and the CLI ------------------------------------------------------------------------------------------
_DATASET_DTYPES = st.sampled_from(["f4", "f8", "i4", "u1", "c8", "S4", "bool"])


@st.composite
def h5py_files(draw):
    jets = draw(st.integers(0, 4))
    width = draw(st.integers(0, 6))
    plausible = draw(st.booleans())  # half the files are nearly right, so the value checks get exercised too
    pmu_shape = (jets, width, 4) if plausible else draw(st.sampled_from([(jets, width, 3), (jets, 4), (jets, 1, 4, 1)]))
    content = {
        "Pmu": (pmu_shape, "f4" if plausible else draw(_DATASET_DTYPES)),
        "Nobj": ((jets if plausible else jets + 1,), "i4" if plausible else draw(_DATASET_DTYPES)),
        "is_signal": ((jets,), "i4" if plausible else draw(_DATASET_DTYPES)),
    }
    drop = None if plausible else draw(st.sampled_from([None, "Pmu", "Nobj", "is_signal"]))
    seed = draw(st.integers(0, 2**31))
    scale = 10.0 ** draw(st.sampled_from([-200, 0, 2, 9]))
    return content, drop, seed, scale


def _write(path, content, drop, seed, scale):
    rng = np.random.default_rng(seed)
    nobj = None
    with h5py.File(path, "w") as f:
        for key, (shape, dt) in content.items():
            if key == drop:
                continue
            if dt == "S4":
                data = np.full(shape, b"ab", dtype="S4")
            elif dt == "bool":
                data = rng.random(shape) < 0.5
            else:
                raw = np.abs(rng.normal(size=shape)) * (scale if key == "Pmu" else 3)
                if key == "Pmu" and len(shape) == 3 and shape[-1] == 4:
                    raw[..., 0] = np.linalg.norm(raw[..., 1:], axis=-1) * rng.choice([1.0, 1.0, 0.5], size=shape[:2])
                with np.errstate(invalid="ignore", over="ignore"):  # huge scales overflow narrow dtypes: the point
                    data = raw.round().astype(dt) if key != "Pmu" else raw.astype(dt)
                if key == "Pmu" and len(shape) == 3 and shape[-1] == 4:
                    n = rng.integers(min(1, shape[1]), shape[1] + 1, size=shape[0])
                    data[np.arange(shape[1])[None, :] >= n[:, None]] = 0  # zero padding after n rows
                    nobj = n
                if key == "Nobj" and data.shape == getattr(nobj, "shape", None) and rng.random() < 0.8:
                    data = nobj.astype(dt)
                if key == "is_signal" and data.dtype.kind in "iuf":
                    data = (data % 2).astype(dt)
            f.create_dataset(key, data=data)
    return path


@FUZZ
@given(spec=h5py_files())
def test_reading_any_file(tmp_path, spec):
    path = _write(tmp_path / "f.h5", *spec)

    def read():
        b = JetFile(path).read()
        assert b.p.shape[0] == b.mask.shape[0] == b.label.shape[0]
        assert bool((b.p[~b.mask] == 0).all())
        return b.p

    assert _finite(_works_or_named(read))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=h5py_files())
def test_cli_inspect_any_file(tmp_path, spec, capsys):
    path = _write(tmp_path / "f.h5", *spec)
    code = cli.main(["data", "inspect", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        assert err.startswith("clariant: error: ") and err.count("\n") == 1
    else:
        assert "nan" not in out.lower() or '"jets": 0' in out


@pytest.mark.parametrize("bad", ["nan", "inf", "-1", "1e400", "abc"])
def test_cli_numbers(bad, tmp_path, capsys):
    """Bad numbers on the command line: exit 2 (argparse or the settings check), one message, nothing written."""
    for argv in (["validate", "--max-rapidity", bad], ["validate", "--rapidities", bad], ["train", "--lr", bad]):
        try:
            code = cli.main([*argv, "--out", str(tmp_path / "o")])
        except SystemExit as e:
            code = e.code
        assert code == 2, argv
        assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
