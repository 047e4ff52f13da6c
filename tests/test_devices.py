"""Devices, precision modes and the LGN's memory policy (docs/devices.md). Every device path runs on the CPU here;
the CUDA ones skip with the reason where there is no GPU."""

import json

import pytest
import torch
from torch import nn

import clariant_core as cc
from clariant import cli
from clariant.validate import assert_lorentz_invariant, attribute, judge, measure, sweep
from clariant.validate.properties import run_all
from clariant.validate.strategies import random_jets
from clariant_core.data import SAMPLE_DIR
from clariant_core.devices import available, model_device, resolve_device
from clariant_core.network import memory
from clariant_core.numerics import PRECISIONS, TF32_UNIT_ROUNDOFF, TRAIN_DTYPES, precision
from clariant_core.training import load_checkpoint

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device on this machine")
no_cuda = pytest.mark.skipif(CUDA, reason="checks the message of a machine without CUDA")
P, MASK = random_jets(6, 5, seed=3)
SMALL = dict(n_rapidities=2, n_angles=1, axes=("z",))


class JetMass(nn.Module):
    """An invariant model: the jet's mass² through a small MLP."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.mlp = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))

    def forward(self, p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1) / 100
        return self.mlp(cc.minkowski_norm2(total)[:, None] / 10)


# --- devices -----------------------------------------------------------------------------------------------------
def test_auto_is_cuda_when_present_else_cpu():
    assert resolve_device("auto") == (torch.device("cuda", 0) if CUDA else torch.device("cpu"))
    assert available()[0] == torch.device("cpu") and len(available()) == 1 + torch.cuda.device_count() * CUDA


@no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_an_absent_cuda_device_names_what_the_machine_has(name):
    with pytest.raises(ValueError, match=rf"'{name}' is not available: this machine has the CPU only, no CUDA GPU"):
        resolve_device(name)


@pytest.mark.parametrize("name", ["meta", "gpu", "cuda:x", ""])
def test_a_device_that_is_not_a_device_name(name):
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda or cuda:<index>.*this machine has"):
        resolve_device(name)


def test_explicit_cpu_gives_the_default_results_exactly():
    model = JetMass().double()
    a = sweep(model, P, MASK, dtypes=(torch.float32, torch.float64), **SMALL)
    b = sweep(model, P, MASK, dtypes=(torch.float32, torch.float64), device="cpu", **SMALL)
    assert a.device == b.device == "cpu" and not any("copy of it" in n for n in b.notes)
    for name in a.measurements:
        assert torch.equal(a.measurements[name].errors, b.measurements[name].errors)
        assert torch.equal(a.measurements[name].floor, b.measurements[name].floor)
    m = measure(model, P, MASK, torch.eye(2, dtype=torch.complex128)[None], dtype="float32", device="cpu")
    assert m.name == "float32" and m.errors.device.type == "cpu"


def test_a_meta_device_or_a_model_on_meta_is_a_clear_error():
    with pytest.raises(ValueError, match="got 'meta'"):
        sweep(JetMass(), P, MASK, device="meta", **SMALL)
    with torch.device("meta"):
        ghost = JetMass()
    with pytest.raises(ValueError, match="'meta' device.*load its weights"):
        sweep(ghost, P, MASK, **SMALL)
    with pytest.raises(ValueError, match="'meta' device"):
        model_device(ghost)


@no_cuda
def test_an_absent_cuda_device_in_the_suite_is_a_clear_error():
    with pytest.raises(ValueError, match="'cuda' is not available: this machine has the CPU only"):
        assert_lorentz_invariant(JetMass(), P, MASK, device="cuda", **SMALL)


def test_the_model_is_evaluated_where_it_lives_and_never_moved():
    model = JetMass()  # float32 on the CPU
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = sweep(model, P, MASK, dtypes=("float64",), device="cpu", **SMALL)
    assert result.device == "cpu" and model_device(model) == torch.device("cpu")
    assert all(torch.equal(before[k], v) and v.dtype == torch.float32 for k, v in model.state_dict().items())


def test_a_module_spread_over_devices_is_named():
    model = JetMass()
    model.extra = nn.Parameter(torch.zeros(1, device="meta"))
    with pytest.raises(ValueError, match="several devices \\(cpu, meta\\)"):
        model_device(model)


@needs_cuda
def test_cuda_agrees_with_the_cpu_and_evaluates_a_copy():
    model = JetMass().double()
    cpu = sweep(model, P, MASK, dtypes=("float64",), **SMALL)
    gpu = sweep(model, P, MASK, dtypes=("float64",), device="cuda", **SMALL)
    assert gpu.device == "cuda:0" and "a copy of it was evaluated on cuda:0" in " ".join(gpu.notes)
    assert model_device(model) == torch.device("cpu")  # the user's module stays where it is
    u = cc.unit_roundoff(torch.float64)
    a, b = cpu.measurements["float64"], gpu.measurements["float64"]
    assert b.errors.device.type == "cpu" and (a.errors - b.errors).abs().max() <= 1e3 * u
    on_gpu = model.to("cuda")
    assert sweep(on_gpu, P, MASK, dtypes=("float64",), **SMALL).device == "cuda:0"
    assert model_device(on_gpu) == torch.device("cuda", 0)


def test_properties_and_attribution_on_an_explicit_cpu_give_the_default_results_exactly():
    model = cc.LGN(cc.LGNConfig(channels=(2, 2, 2))).double()
    a = run_all(model, P, MASK, properties=("permutation", "infrared"), scan_jets=None)
    b = run_all(model, P, MASK, properties=("permutation", "infrared"), scan_jets=None, device="cpu")
    for name in a:
        assert [str(vars(r)) for r in a[name].rows] == [str(vars(r)) for r in b[name].rows]  # NaN-safe, exact
        assert a[name].verdict == b[name].verdict
    x, y = attribute(model, P, MASK), attribute(model, P, MASK, device="cpu")
    assert [str(vars(r)) for r in x.layers] == [str(vars(r)) for r in y.layers]


@no_cuda
def test_an_absent_cuda_device_in_properties_and_attribution_is_a_clear_error():
    with pytest.raises(ValueError, match="'cuda' is not available: this machine has the CPU only"):
        run_all(JetMass(), P, MASK, properties=("permutation",), device="cuda")
    with pytest.raises(ValueError, match="'cuda' is not available: this machine has the CPU only"):
        attribute(cc.LGN().double(), P, MASK, device="cuda")


@needs_cuda
def test_properties_and_attribution_follow_the_device_and_agree_with_the_cpu():
    model = cc.LGN(cc.LGNConfig(channels=(2, 2, 2))).double()
    cpu = run_all(model, P, MASK, properties=("permutation", "parity"), scan_jets=None)
    for gpu in (
        run_all(model, P, MASK, properties=("permutation", "parity"), scan_jets=None, device="cuda"),  # a copy
        run_all(model.to("cuda"), P, MASK, properties=("permutation", "parity"), scan_jets=None),  # where it lives
    ):
        assert {k: r.verdict for k, r in gpu.items()} == {k: r.verdict for k, r in cpu.items()}
    model = model.cpu()
    a, b = attribute(model, P, MASK), attribute(model, P, MASK, device="cuda")
    assert model_device(model) == torch.device("cpu")  # the user's module stays where it is
    assert [r.name for r in a.layers] == [r.name for r in b.layers]
    u = cc.unit_roundoff(torch.float64)
    assert all(r.p95 <= b.threshold and abs(r.p95 - s.p95) <= 1e6 * u for r, s in zip(b.layers, a.layers))


# --- precision modes ---------------------------------------------------------------------------------------------
def test_one_table_of_precisions_with_their_unit_roundoffs():
    assert list(PRECISIONS) == [
        "float64", "float32", "bfloat16", "float16", "tf32", "autocast-bf16", "autocast-fp16",
    ]  # fmt: skip
    assert PRECISIONS["tf32"].u == TF32_UNIT_ROUNDOFF == 2.0**-11 and PRECISIONS["tf32"].dtype == torch.float32
    assert PRECISIONS["autocast-bf16"].u == torch.finfo(torch.bfloat16).eps / 2 == 2.0**-8
    assert PRECISIONS["autocast-fp16"].u == torch.finfo(torch.float16).eps / 2 == 2.0**-11
    for name in ("float64", "float32", "bfloat16", "float16"):
        assert precision(getattr(torch, name)) is PRECISIONS[name]
        assert PRECISIONS[name].u == cc.unit_roundoff(getattr(torch, name))
    assert TRAIN_DTYPES == {"float32": torch.float32, "float64": torch.float64}
    from clariant.validate import DTYPES as SWEEP
    from clariant_core.training.config import DTYPES

    assert DTYPES is TRAIN_DTYPES and [p.name for p in SWEEP] == ["float64", "float32", "bfloat16", "float16"]
    for bad in ("tf16", torch.int32, torch.complex64):
        with pytest.raises(ValueError, match="tf32, autocast-bf16"):
            precision(bad)


def test_tf32_flags_are_restored_even_on_error():
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    with pytest.raises(RuntimeError, match="inside"):
        with PRECISIONS["tf32"].enter("cpu"):
            assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
            raise RuntimeError("inside")
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before


def test_tf32_mode_in_a_program_that_uses_torchs_new_precision_switches():
    """torch ≥ 2.9: after `fp32_precision = "ieee"`, reading the legacy allow_tf32 flags raises ("mix of the legacy
    and new APIs"); entering the mode must not, and must give the program its setting back."""
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    original = matmul.fp32_precision, conv.fp32_precision
    try:
        matmul.fp32_precision = conv.fp32_precision = "ieee"
        with PRECISIONS["tf32"].enter("cpu"):
            assert matmul.fp32_precision == conv.fp32_precision == "tf32"
        assert matmul.fp32_precision == conv.fp32_precision == "ieee"
    finally:
        matmul.fp32_precision, conv.fp32_precision = original
    assert isinstance(torch.backends.cuda.matmul.allow_tf32, bool)  # the legacy flags readable again


def test_autocast_runs_matmuls_in_its_dtype_on_the_cpu():
    a = torch.randn(3, 3)
    with PRECISIONS["autocast-bf16"].enter("cpu"):
        assert (a @ a).dtype == torch.bfloat16
    assert (a @ a).dtype == torch.float32


@no_cuda
def test_modes_as_rows_tf32_skipped_with_the_reason_autocast_measured():
    result = sweep(JetMass().double(), P, MASK, dtypes=("tf32", "autocast-bf16", "float64"), **SMALL)
    assert "TF32" in result.skipped["tf32"] and "CUDA" in result.skipped["tf32"]
    bf = result.measurements["autocast-bf16"]
    assert bf.errors is not None and bf.unit == 2.0**-8 and bf.dtype == torch.float32
    j = judge(result)
    assert j.by_dtype()["autocast-bf16"] in ("PASS", "UNRESOLVED") and j.by_dtype()["float64"] == "PASS"
    # judged with its own u: the floor scales as u_bf16 / u_float64 against float64's
    ratio = (bf.floor - 2.0**-8) / (result.measurements["float64"].floor - cc.unit_roundoff(torch.float64))
    assert torch.allclose(ratio[0], torch.full_like(ratio[0], 2.0**-8 / cc.unit_roundoff(torch.float64)), rtol=1e-6)


def test_the_shipped_lgn_runs_under_autocast_and_says_when_float16_overflows():
    from clariant_core.data import SAMPLE_DIR, JetFile
    from clariant_core.network.scale import ScaleError
    from clariant_core.training import load_checkpoint

    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float32)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 8)
    with torch.no_grad():
        ref = model(b.p.float(), b.mask)
        with PRECISIONS["autocast-bf16"].enter("cpu"):
            out = model(b.p.float(), b.mask)
        assert out.dtype == torch.bfloat16  # the output layer ran in bfloat16: autocast really acted
        # it computes the same function to bfloat16's precision (a few u_bf16 relative to the logits' size)
        assert (out.float() - ref).abs().max() <= 16 * PRECISIONS["autocast-bf16"].u * ref.abs().max()
        # momenta ×10³ (MeV-sized): fine in float32, but the products inside the levels exceed float16's range
        assert torch.isfinite(model(b.p.float() * 1e3, b.mask)).all()
        with pytest.raises(ScaleError, match="overflowed under autocast to float16"):
            with PRECISIONS["autocast-fp16"].enter("cpu"):
                model(b.p.float() * 1e3, b.mask)


def test_autocast_rows_really_compute_in_the_autocast_dtype():
    """The float32-stored model under autocast-bf16 errs like bfloat16, not like float32: the error ratio exceeds
    √(u_bf16/u_float32), the verdict's own line between rounding and no change."""

    class Pairs(nn.Module):  # Σ tanh(p_i·p_j / 10⁴): the Minkowski products by a batched matmul
        def __init__(self):
            super().__init__()
            self.register_buffer("eta", torch.tensor([1.0, -1.0, -1.0, -1.0]))

        def forward(self, p, mask):
            gram = (p * self.eta) @ p.transpose(1, 2) / 1e4
            return (torch.tanh(gram) * (mask[:, :, None] & mask[:, None, :])).sum((1, 2))

    kw = dict(rapidities=(0.5, 1.0), n_angles=1, axes=("z",))
    result = sweep(Pairs().double(), P, MASK, dtypes=("autocast-bf16", "float32", "float64"), **kw)
    boosts = [i for i, pt in enumerate(result.points) if pt.kind == "boost"]
    bf, f32 = (result.measurements[n].errors[boosts].median() for n in ("autocast-bf16", "float32"))
    assert bf / f32 > (PRECISIONS["autocast-bf16"].u / PRECISIONS["float32"].u) ** 0.5
    verdicts = judge(result).by_dtype()  # a correct model is never BROKEN in a mode judged with its own u
    assert verdicts["autocast-bf16"] in ("PASS", "UNRESOLVED") and verdicts["float32"] == verdicts["float64"] == "PASS"


@needs_cuda
def test_tf32_is_measured_on_an_ampere_or_later_gpu():
    if torch.cuda.get_device_capability(0)[0] < 8:
        pytest.skip("this GPU has no TF32")
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float32)
    from clariant_core.data import JetFile

    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 16)
    result = sweep(model, b.p, b.mask, dtypes=("tf32", "float32"), rapidities=(2.0,), axes=("z",), n_angles=1)
    tf32, f32 = result.measurements["tf32"], result.measurements["float32"]
    assert tf32.unit == 2.0**-11 and result.device == "cuda:0"
    assert judge(result).by_dtype()["tf32"] != "BROKEN"
    print(f"float32 {float(f32.errors.median()):.3g}, tf32 {float(tf32.errors.median()):.3g}")


# --- memory policy -----------------------------------------------------------------------------------------------
def _jets(b, n, dtype=torch.float64, device="cpu"):
    return torch.zeros(b, n, 4, dtype=dtype, device=device)


def test_the_cpu_policy_chunks_at_the_old_size_and_a_large_budget_not_at_all():
    cfg = cc.LGNConfig()
    assert memory.numbers_per_pair(cfg.num_basis, cfg.channels[:-1]) == 46
    assert memory.bytes_per_pair(cfg, torch.float64) == 368 and memory.bytes_per_pair(cfg, torch.float32) == 184
    assert memory.chunk_pairs("auto", _jets(64, 200), cfg) == 2**19  # the fixed default the LGN had
    assert memory.chunk_pairs("auto", _jets(64, 200, torch.float32), cfg) == 2**20
    assert memory.chunk_pairs("auto", _jets(8, 200), cfg) is None  # 320k pairs fit: no recomputation
    assert memory.chunk_pairs(memory.Budget(64 << 30), _jets(1024, 200), cfg) is None
    assert memory.chunk_pairs(memory.Budget(368 * 1000), _jets(64, 200), cfg) == 512
    assert (
        memory.chunk_pairs(12345, _jets(64, 200), cfg) == 12345 and memory.chunk_pairs(None, _jets(1, 2), cfg) is None
    )
    for bad in ("big", 1.5):
        with pytest.raises(ValueError, match="grad_chunk_pairs must be"):
            memory.chunk_pairs(bad, _jets(2, 2), cfg)
    with pytest.raises(ValueError, match="positive number of bytes"):
        memory.Budget(0)


def test_the_lgn_uses_the_policy_and_the_explicit_option_still_works():
    torch.manual_seed(0)
    model = cc.LGN().double()
    assert model.grad_chunk_pairs == "auto"
    p, mask = random_jets(6, 40, seed=2)  # 9,600 pairs
    with torch.enable_grad():
        assert model._grad_chunks(p) is None  # fits the CPU budget
        model.grad_chunk_pairs = memory.Budget(368 * 4096)  # 4096 pairs: 2 jets of 40² per chunk
        assert model._grad_chunks(p) == [slice(0, 2), slice(2, 4), slice(4, 6)]
        model.grad_chunk_pairs = 3 * 1600
        assert model._grad_chunks(p) == [slice(0, 3), slice(3, 6)]


def test_the_free_cuda_memory_is_read_once_per_device(monkeypatch):
    """The query synchronises the device: a training loop must not make it every step. (No GPU here: the query is
    replaced by a counter; on a GPU the next test reads the real one.)"""
    calls = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda index: calls.append(index) or (8 << 30, 16 << 30))
    memory.forget_cuda_free()
    try:
        for _ in range(5):
            assert memory.budget_bytes(torch.device("cuda", 1)) == int(memory.CUDA_FREE_FRACTION * (8 << 30))
        assert calls == [1]
        memory.forget_cuda_free()
        memory.budget_bytes(torch.device("cuda", 1))
        assert calls == [1, 1]
    finally:
        memory.forget_cuda_free()


@needs_cuda
def test_on_cuda_the_policy_reads_the_free_memory():
    memory.forget_cuda_free()
    free, _ = torch.cuda.mem_get_info(0)
    cfg = cc.LGNConfig()
    assert memory.budget_bytes(torch.device("cuda", 0)) == int(memory.CUDA_FREE_FRACTION * free)
    if free > 8 << 30:  # B = 256, N = 200 float32 needs ~1.9 GB by the estimate
        assert memory.chunk_pairs("auto", _jets(256, 200, torch.float32, "cuda"), cfg) is None


# --- command line ------------------------------------------------------------------------------------------------
@no_cuda
@pytest.mark.parametrize("command", [["train"], ["validate"]])
def test_cli_device_cuda_without_a_gpu_is_one_line(command, tmp_path, capsys):
    assert cli.main([*command, "--device", "cuda", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'cuda' is not available: this machine has the CPU only" in err
    assert not (tmp_path / "out").exists()


def test_cli_train_auto_records_the_device_in_the_model_card(tmp_path):
    args = ["train", "--out", str(tmp_path), "--epochs", "1", "--max-train-jets", "64", "--model", "pfn"]
    assert cli.main([*args, "--device", "auto", "--quiet", "--threads", "1"]) == 0
    _, meta = load_checkpoint(tmp_path / "best.pt")
    expected = "cuda:0" if CUDA else "cpu"
    assert meta["device"] == expected and json.loads((tmp_path / "metrics.json").read_text())["device"] == expected


@pytest.mark.slow
def test_cli_validate_takes_a_mode_and_a_device(tmp_path, capsys):
    args = ["validate", "--out", str(tmp_path), "--jets", "12", "--rapidities", "1,3", "--axes", "z"]
    assert cli.main([*args, "--dtype", "autocast-bf16", "--device", "cpu"]) == 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["model_card"]["evaluated on"] == "cpu"
    # the shipped LGN runs under autocast: its bfloat16 rows are measured, not skipped
    measured = {r["dtype"] for r in data["rows"]}
    assert measured == {"autocast-bf16", "float64"} and not data["skipped"]


# --- pytest plugin -----------------------------------------------------------------------------------------------
PLUGIN_TEST = """
import torch
from clariant.validate import PASS, assert_lorentz_invariant


def mass2(p, mask):
    total = (p * mask[..., None].to(p.dtype)).sum(1) / 100
    return (total[:, 0] ** 2 - (total[:, 1:] ** 2).sum(-1))[:, None]


def test_registered(jets, lorentz_report, lorentz_device):
    p, mask = jets(batch=6, particles=5)
    kw = dict(n_rapidities=2, n_angles=1, axes=("z",), dtypes=(torch.float64,))
    assert assert_lorentz_invariant(mass2, p, mask, device=lorentz_device, **kw).verdict == PASS
    lorentz_report.add(mass2, p, mask, name="mass2", properties=False, groups=(), **kw)
    print("device fixture:", lorentz_device)
"""


def test_plugin_lorentz_device(pytester):
    pytester.makepyfile(test_dev=PLUGIN_TEST)
    ok = pytester.runpytest_subprocess("--lorentz-device=cpu", "--lorentz-report=no", "-s", "-p", "no:cacheprovider")
    assert ok.ret == pytest.ExitCode.OK
    ok.stdout.fnmatch_lines(["*device fixture: cpu*", "*mass2: PASS*"])
    if not CUDA:
        bad = pytester.runpytest_subprocess("--lorentz-device=cuda", "-p", "no:cacheprovider")
        assert bad.ret == pytest.ExitCode.USAGE_ERROR
        bad.stderr.fnmatch_lines(["*--lorentz-device='cuda'*not available: this machine has the CPU only*"])
