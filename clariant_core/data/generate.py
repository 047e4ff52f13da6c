"""`clariant data generate`: top-tagging jets with the public dataset's settings (docs/data.md).

Pythia 8 (pythia8mc) at √s = 14 TeV with multi-parton interactions off; signal: tt̄ with both W → qq̄', background:
hard QCD 2 → 2; both with p̂T in [pthat_min, pthat_max]. **Detector stand-in — not Delphes**: charged particles with
|η| < 2.5 are tracks (efficiency 90% above 0.5 GeV, pT smeared by 1% ⊕ 0.05%·pT); everything else visible (neutrals,
untracked charged) deposits its energy in projective calorimeter cells of Δη × Δφ = 0.1 × 2π/64 over |η| < 4.9,
electromagnetic (photons, electrons) and hadronic energies smeared separately (10%/√E ⊕ 1%, 50%/√E ⊕ 3%), cells kept
above 0.5 GeV. Every constituent is massless (tracks at their direction, cells at the cell centre). Jets: anti-kT
R = 0.8 (fastjet); the leading jet is kept if 550 < pT < 650 GeV and |η| < 2; top jets additionally need a hadronic top
and its b, q, q̄' within ΔR < 0.8 of the jet axis. Up to 200 pT-ordered constituents are written, zero-padded, with
their particle information (docs/data.md): the charge of a track (±1), 0 for a calorimeter cell. `process` chooses
the jets: "both" (half top, half QCD; the default), "top" or "qcd" only.

Work is split into fixed chunks, each with its own seed derived from (seed, kind, chunk index), so the output does
not depend on the number of worker processes. Pythia's `init()` result is checked in every worker.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from clariant_core.atomic import check_writable_folder
from clariant_core.data.layout import MAX_CONSTITUENTS, TTV
from clariant_core.data.writers import write_public_layout
from clariant_core.resources import ResourceError, available_cpus, check_memory

RECORD = "generation.json"  # the command, seed and settings, written beside the files

KINDS = ("top", "qcd")
PROCESSES = {"both": KINDS, "top": ("top",), "qcd": ("qcd",)}
_INVISIBLE = {12, 14, 16}
_MAX_SEED = 900_000_000


@dataclass(frozen=True)
class GeneratorSettings:
    sqrt_s: float = 14000.0
    pthat_min: float = 500.0
    pthat_max: float = 700.0
    jet_r: float = 0.8
    jet_pt_min: float = 550.0
    jet_pt_max: float = 650.0
    jet_eta_max: float = 2.0
    match_r: float = 0.8
    track_eta_max: float = 2.5
    track_efficiency: float = 0.9
    track_pt_min: float = 0.5
    calo_eta_max: float = 4.9
    cell_eta: float = 0.1
    cell_phi_bins: int = 64
    cell_threshold: float = 0.5

    def __post_init__(self):
        if not (0 < self.pthat_min < self.pthat_max and 0 < self.jet_pt_min < self.jet_pt_max):
            raise ValueError(f"unphysical pT windows in {self}")
        if not (0 < self.jet_r <= 2 and 0 < self.track_efficiency <= 1 and self.sqrt_s > 2 * self.pthat_max):
            raise ValueError(f"unphysical generator settings {self}")


def chunk_seed(seed: int, kind: str, index: int) -> int:
    """A Pythia seed in [1, 9·10⁸) unique per (seed, kind, chunk)."""
    return 1 + (seed * 1_000_003 + KINDS.index(kind) * 500_009 + index * 7_919) % (_MAX_SEED - 1)


def _pythia(kind: str, seed: int, s: GeneratorSettings):
    import pythia8mc

    py = pythia8mc.Pythia("", False)  # no banner
    commands = [
        f"Beams:eCM = {s.sqrt_s}",
        "PartonLevel:MPI = off",
        f"PhaseSpace:pTHatMin = {s.pthat_min}",
        f"PhaseSpace:pTHatMax = {s.pthat_max}",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Next:numberCount = 0",
        "Next:numberShowEvent = 0",
        "Next:numberShowInfo = 0",
        "Next:numberShowProcess = 0",
        "Init:showProcesses = off",
        "Init:showChangedSettings = off",
        "Init:showChangedParticleData = off",
    ]
    if kind == "top":
        commands += ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"]
    else:
        commands += ["HardQCD:all = on"]
    for c in commands:
        if not py.readString(c):
            raise RuntimeError(f"Pythia rejected setting {c!r}")
    if not py.init():
        raise RuntimeError(f"Pythia init() failed for {kind} (seed {seed}); see its log")
    return py


def _final_state(ev):
    rows, tops = [], []
    for i in range(ev.size()):
        q = ev[i]
        aid = abs(q.id())
        if q.isFinal():
            if aid not in _INVISIBLE:
                rows.append((q.e(), q.px(), q.py(), q.pz(), q.charge(), aid))
        elif aid == 6:
            tops.append(i)
    return np.array(rows, dtype=np.float64).reshape(-1, 6), tops


def _last_copy(ev, i):
    while True:
        d = list(ev[i].daughterList())
        if len(d) == 1 and ev[d[0]].id() == ev[i].id():
            i = d[0]
        else:
            return i


def _hadronic_tops(ev, tops):
    """[(top four-momentum, [(η, φ) of top, b, q, q̄'])] for tops decaying to b W(→ qq̄')."""
    out = []
    for i in tops:
        d = list(ev[i].daughterList())
        ws = [j for j in d if abs(ev[j].id()) == 24]
        bs = [j for j in d if abs(ev[j].id()) == 5]
        if not ws or not bs:
            continue
        w = _last_copy(ev, ws[0])
        qs = [j for j in ev[w].daughterList() if abs(ev[j].id()) <= 5]
        if len(qs) != 2:
            continue
        t = ev[i]
        dirs = [(ev[j].eta(), ev[j].phi()) for j in (i, bs[0], *qs)]
        out.append((np.array([t.e(), t.px(), t.py(), t.pz()]), dirs))
    return out


def _detector(parts: np.ndarray, rng: np.random.Generator, s: GeneratorSettings) -> np.ndarray:
    """Visible final state `[n, 6]` (E, px, py, pz, charge, |id|) → massless constituents `[m, 5]`
    (E, px, py, pz, charge): tracks carry the sign of their charge, calorimeter cells 0."""
    e, px, py, pz, charge, aid = parts.T
    pt = np.hypot(px, py)
    ok = pt > 1e-9
    e, px, py, pz, charge, aid, pt = (a[ok] for a in (e, px, py, pz, charge, aid, pt))
    eta = np.arcsinh(pz / pt)
    phi = np.arctan2(py, px)
    charged = charge != 0
    trackable = charged & (np.abs(eta) < s.track_eta_max) & (pt > s.track_pt_min)
    tracked = trackable & (rng.random(len(e)) < s.track_efficiency)
    # tracks: pT smeared, massless at the true direction
    tpt = pt[tracked] * (1 + rng.normal(size=tracked.sum()) * np.hypot(0.01, 5e-4 * pt[tracked]))
    tpt = np.clip(tpt, 0, None)
    teta, tphi = eta[tracked], phi[tracked]
    tq = np.sign(charge[tracked])
    tracks = np.stack([tpt * np.cosh(teta), tpt * np.cos(tphi), tpt * np.sin(tphi), tpt * np.sinh(teta), tq], 1)
    # calorimeter: everything else within acceptance, EM and hadronic cells smeared separately
    calo = ~tracked & (np.abs(eta) < s.calo_eta_max)
    em = calo & ((aid == 22) | (aid == 11))
    n_eta = int(round(2 * s.calo_eta_max / s.cell_eta))
    ieta = np.clip(((eta + s.calo_eta_max) / s.cell_eta).astype(np.int64), 0, n_eta - 1)
    iphi = np.clip(((phi + math.pi) / (2 * math.pi) * s.cell_phi_bins).astype(np.int64), 0, s.cell_phi_bins - 1)
    cells = []
    for sel, stoch, const in ((em, 0.10, 0.01), (calo & ~em, 0.50, 0.03)):
        idx = ieta[sel] * s.cell_phi_bins + iphi[sel]
        uniq, inv = np.unique(idx, return_inverse=True)
        ce = np.bincount(inv, weights=e[sel], minlength=len(uniq))
        ce = ce * (1 + rng.normal(size=len(ce)) * np.hypot(stoch / np.sqrt(np.maximum(ce, 1e-9)), const))
        keep = ce > s.cell_threshold
        ce, uniq = ce[keep], uniq[keep]
        c_eta = -s.calo_eta_max + (uniq // s.cell_phi_bins + 0.5) * s.cell_eta
        c_phi = -math.pi + (uniq % s.cell_phi_bins + 0.5) * 2 * math.pi / s.cell_phi_bins
        cpt = ce / np.cosh(c_eta)
        zero = np.zeros_like(ce)
        cells.append(np.stack([ce, cpt * np.cos(c_phi), cpt * np.sin(c_phi), cpt * np.sinh(c_eta), zero], 1))
    return np.concatenate([tracks, *cells], 0)


def _delta_r(eta1, phi1, eta2, phi2):
    dphi = (phi1 - phi2 + math.pi) % (2 * math.pi) - math.pi
    return math.hypot(eta1 - eta2, dphi)


def generate_chunk(kind: str, n_jets: int, seed: int, settings: GeneratorSettings, max_events: int | None = None):
    """`n_jets` accepted jets of one kind: (p `[n, 200, 4]` float64, truth `[n, 4]`, charge `[n, 200]`, events
    tried)."""
    import fastjet

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    s = settings
    py = _pythia(kind, seed, s)
    rng = np.random.default_rng(seed)
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, s.jet_r)
    p_out = np.zeros((n_jets, MAX_CONSTITUENTS, 4))
    truth = np.zeros((n_jets, 4))
    charge = np.zeros((n_jets, MAX_CONSTITUENTS))
    n = tried = 0
    limit = max_events or 200 * n_jets
    while n < n_jets:
        if tried >= limit:
            raise RuntimeError(f"{kind}: only {n} of {n_jets} jets accepted in {tried} events — check the settings")
        tried += 1
        if not py.next():
            continue
        parts, tops = _final_state(py.event)
        consts = _detector(parts, rng, s)
        if len(consts) == 0:
            continue
        pjs = [fastjet.PseudoJet(float(c[1]), float(c[2]), float(c[3]), float(c[0])) for c in consts]
        for i, pj in enumerate(pjs):
            pj.set_user_index(i)
        cs = fastjet.ClusterSequence(pjs, jetdef)
        jets = fastjet.sorted_by_pt(cs.inclusive_jets())
        if not jets:
            continue
        jet = jets[0]
        if not (s.jet_pt_min < jet.pt() < s.jet_pt_max and abs(jet.eta()) < s.jet_eta_max):
            continue
        if kind == "top":
            matched = [
                t
                for t, dirs in _hadronic_tops(py.event, tops)
                if all(_delta_r(jet.eta(), jet.phi_std(), eta, phi) < s.match_r for eta, phi in dirs)
            ]
            if not matched:
                continue
            truth[n] = matched[0]
        idx = np.array([c.user_index() for c in jet.constituents()], dtype=np.int64)
        c = consts[idx]
        c = c[np.argsort(-np.hypot(c[:, 1], c[:, 2]), kind="stable")][:MAX_CONSTITUENTS]
        p_out[n, : len(c)] = c[:, :4]
        charge[n, : len(c)] = c[:, 4]
        n += 1
    return p_out, truth, charge, tried


def _chunk_task(args):
    kind, n, seed, settings = args
    t0 = time.process_time()
    p, truth, charge, tried = generate_chunk(kind, n, seed, settings)
    return kind, p, truth, tried, time.process_time() - t0, charge


@dataclass
class GenerationReport:
    jets: int
    events_tried: dict
    cpu_seconds: float
    wall_seconds: float
    files: dict

    def to_dict(self):
        return asdict(self)


def generate_dataset(
    out_dir,
    num_jets: int,
    *,
    seed: int = 1,
    workers: int = 1,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    chunk_size: int = 100,
    settings: GeneratorSettings | None = None,
    overwrite: bool = False,
    progress: bool = True,
    process: str = "both",
) -> GenerationReport:
    """Generate `num_jets` jets (process "both": half top, half QCD; "top" or "qcd": that kind only), shuffle with
    `seed`, split into train/val/test and write `train.h5`, `val.h5`, `test.h5` in the public layout, with the
    constituents' charges as particle information (docs/data.md), under `out_dir`."""
    settings = settings or GeneratorSettings()
    if process not in PROCESSES:
        raise ValueError(f"process must be one of {sorted(PROCESSES)}, got {process!r}")
    kinds = PROCESSES[process]
    if num_jets < len(kinds) or num_jets % len(kinds):
        raise ValueError(f"num_jets must be a multiple of {len(kinds)} and ≥ {len(kinds)}, got {num_jets}")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"bad split fractions val={val_fraction}, test={test_fraction}")
    if workers < 1 or chunk_size < 1:
        raise ValueError(f"workers and chunk_size must be ≥ 1, got {workers}, {chunk_size}")
    if workers > available_cpus():
        raise ResourceError(f"{workers} workers asked for, but this machine offers {available_cpus()} CPU cores")
    n_val, n_test = int(round(val_fraction * num_jets)), int(round(test_fraction * num_jets))
    sizes = {"train": num_jets - n_val - n_test, "val": n_val, "test": n_test}
    if min(sizes.values()) < 1:
        raise ValueError(f"{num_jets} jets split as {sizes} leave a split empty; ask for more jets or other fractions")
    # p and charge (float64, 200 × 5 per jet) are held about three times: per-chunk results, concatenated, shuffled
    check_memory(3 * num_jets * MAX_CONSTITUENTS * 5 * 8, f"generating {num_jets} jets")
    out_dir = Path(out_dir)
    check_writable_folder(out_dir)
    targets = {name: out_dir / f"{name}.h5" for name in ("train", "val", "test")}
    existing = [str(t) for t in [*targets.values(), out_dir / RECORD] if t.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{existing} exist; pass --overwrite to replace them")
    tasks = []
    for kind in kinds:
        remaining, index = num_jets // len(kinds), 0
        while remaining > 0:
            n = min(chunk_size, remaining)
            tasks.append((kind, n, chunk_seed(seed, kind, index), settings))
            remaining -= n
            index += 1
    from tqdm import tqdm

    t0 = time.time()
    results = {}
    bar = tqdm(total=num_jets, unit="jet", desc="generating", disable=not progress)
    ctx = mp.get_context("spawn" if workers > 1 else "fork")
    with ctx.Pool(workers) if workers > 1 else _SerialPool() as pool:
        for i, res in enumerate(pool.imap(_chunk_task, tasks)):
            results[i] = res
            bar.update(len(res[1]))
    bar.close()
    ordered = [results[i] for i in range(len(tasks))]
    p = np.concatenate([r[1] for r in ordered])
    truth = np.concatenate([r[2] for r in ordered])
    charge = np.concatenate([r[5] for r in ordered])
    label = np.concatenate([np.full(len(r[1]), 1 if r[0] == "top" else 0) for r in ordered])
    order = np.random.default_rng(seed).permutation(len(label))
    p, truth, label, charge = p[order], truth[order], label[order], charge[order]
    bounds = {"val": (0, n_val), "test": (n_val, n_val + n_test), "train": (n_val + n_test, num_jets)}
    for name, (a, b) in bounds.items():
        write_public_layout(
            targets[name],
            p[a:b],
            label[a:b],
            truth[a:b],
            TTV[name],
            particle={"charge": charge[a:b]},
            overwrite=overwrite,
        )
    tried = {k: int(sum(r[3] for r in ordered if r[0] == k)) for k in kinds}
    return GenerationReport(
        jets=num_jets,
        events_tried=tried,
        cpu_seconds=float(sum(r[4] for r in ordered)),
        wall_seconds=time.time() - t0,
        files={k: str(v) for k, v in targets.items()},
    )


class _SerialPool:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, fn, items):
        return map(fn, items)
