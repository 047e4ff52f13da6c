"""Judging: verdicts per (dtype, transformation) row, per dtype, per group and for the model, and the assertions
built on them. One logic for the headline, the report, the plots and `assert_*`. Definitions: docs/validation.md.

Verdicts, in order of severity (`Verdict`):
- PASS — the typical jet within `threshold` of its floor (median excess ≤ threshold, default 10²) and the tail
  within `TAIL`·threshold (p95 excess ≤ 10⁴; docs: "Statistics" for small batches). A correct network's own rounding
  adds ~10–10² over the input-rounding floor for typical jets and up to ~10³–10⁴ for the worst-conditioned ones; a
  symmetry bug moves every jet, 10⁶–10¹⁴ above its floor.
- UNRESOLVED — this dtype cannot resolve the function here: outputs overflow where float64's do not, the floor itself
  is saturated (≥ `SATURATED`), the model's output dtype is coarser than the one requested (its rounding hides
  anything below it), the model computes in float32 inside (float64 rows; measures._detect_float32_inside), or the
  floor cannot be computed. Never PASS; it does not enter a family's verdict while any of the family's rows is
  resolved, and a family with no resolved row makes a PASS of the model (or of a group) UNRESOLVED.
- NUMERICAL — excess error that shrinks with the unit roundoff: compared with the same transformation at another
  precision, the error ratio is at least √(u_lo/u_hi), the geometric midpoint of "rounding" (u_lo/u_hi) and "bug" (1),
  and the two median excesses agree (the smaller ≥ √ the larger): amplified rounding exceeds its floor by the same
  factor at every precision, a break below the coarser precision's floor does not.
- BROKEN — excess error that does not shrink with the unit roundoff (or, with no second precision, a median excess
  beyond `TAIL`·threshold, which rounding never explains); a saturated low-precision row takes its family's verdict at
  smaller rapidities or angles where that family shows rounding (a NUMERICAL row), and is held to the tail's PASS
  bound where the family is within its floor there (no rounding that could have grown into the excess). A row within
  the PASS bounds but above its floor (median excess > 1) is BROKEN too when a finer precision measured the same
  transformation and the error does not shrink there: in bfloat16/float16 the PASS allowance is an O(0.1–1) error,
  large enough to hide an order-one bug (only where the finer error shows in this row: above its floor, and this
  row's error nearer to it than to the floor). Where the finer precisions were measured but the model returned
  outputs no finer there (bfloat16 whatever it is given), such a row is UNRESOLVED when its allowance reaches an
  order-one error (threshold × floor ≥ `SATURATED`): nothing can tell the allowance from a bug.
- NONFINITE — the model's outputs are NaN or inf where no narrower dtype explains it (float64 too): a finding.
"""

from __future__ import annotations

import enum
import math
import warnings
from dataclasses import dataclass, field

import torch

import clariant_core as cc

from .bounds import CAPPED, DEFAULT_THRESHOLD, SATURATED, TAIL
from .groups import GROUP_NAMES, SUBGROUPS, check_group, groups_of
from .measures import Measurement, Sweep, dtype_name, sweep
from .statistics import median, p95


class VerdictWord(str, enum.Enum):
    """A word of one closed verdict vocabulary. Equal to, printed as and serialised as its plain word
    (`Verdict.PASS == "PASS"`, `f"{v}"` → "PASS"), so JSON results and command-line values compare directly; but a
    word of one vocabulary compared with a word of another (`Verdict.PASS == PropertyVerdict.PASS`, `<`, `in`) raises
    TypeError instead of silently matching equal strings: convert explicitly (`Verdict(word.value)`)."""

    def _same_vocabulary(self, other) -> None:
        if isinstance(other, VerdictWord) and type(other) is not type(self):
            raise TypeError(
                f"{type(self).__name__}.{self.name} compared with {type(other).__name__}.{other.name}: different "
                f'verdict vocabularies (docs/validation.md, "Verdicts"); convert explicitly, e.g. '
                f"{type(self).__name__}(word.value)"
            )

    @classmethod
    def of(cls, word):
        """`word` (a plain string or a member) as a member of this vocabulary; a word of another one raises."""
        if isinstance(word, VerdictWord) and not isinstance(word, cls):
            raise TypeError(f"{type(word).__name__}.{word.name} is not a {cls.__name__}; convert its .value explicitly")
        return cls(word)

    def __eq__(self, other) -> bool:
        self._same_vocabulary(other)
        return str.__eq__(self, other)

    def __ne__(self, other) -> bool:
        return not self == other

    __hash__ = str.__hash__  # equal to its plain word, so it hashes like it

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Verdict(VerdictWord):
    """The Lorentz verdict, ordered: PASS < UNRESOLVED < NUMERICAL < BROKEN < NONFINITE (`max` gives the worst).

    Its own type, distinct from `clariant.validate.properties.PropertyVerdict`: the five words share their row
    criteria with
    the property checks' must-vanish rows, but not their combination (here UNRESOLVED counts only when nothing was
    resolved and NONFINITE is the worst; a property counts UNRESOLVED against itself and ranks BROKEN worst) nor the
    gates built on them (`--lorentz-fail-on`, the CLI's exit code, `assert_lorentz_*`), which speak this type only.
    """

    PASS = "PASS"
    UNRESOLVED = "UNRESOLVED"
    NUMERICAL = "NUMERICAL"
    BROKEN = "BROKEN"
    NONFINITE = "NONFINITE"

    @property
    def severity(self) -> int:
        return list(Verdict).index(self)

    def _other(self, other) -> Verdict:
        return Verdict.of(other)

    def __lt__(self, other):
        return self.severity < self._other(other).severity

    def __le__(self, other):
        return self.severity <= self._other(other).severity

    def __gt__(self, other):
        return self.severity > self._other(other).severity

    def __ge__(self, other):
        return self.severity >= self._other(other).severity


PASS, UNRESOLVED, NUMERICAL, BROKEN, NONFINITE = Verdict


def headline(verdicts) -> Verdict | None:
    """The headline of a set of verdicts: the worst resolved one; UNRESOLVED only if nothing was resolved."""
    vs = list(verdicts)
    if not vs:
        return None
    resolved = [v for v in vs if v is not UNRESOLVED]
    return max(resolved) if resolved else UNRESOLVED


def families_headline(rows) -> Verdict | None:
    """The verdict of rows spanning families of transformations: the worst of the families' headlines, so that a
    family no precision resolved at any parameter makes a PASS elsewhere UNRESOLVED (nothing showed the model
    invariant under it), while a resolved NUMERICAL, BROKEN or NONFINITE anywhere still decides."""
    by_family: dict[str, list] = {}
    for r in rows:
        by_family.setdefault(r.family, []).append(r.verdict)
    return max((headline(v) for v in by_family.values()), default=None)


@dataclass(frozen=True)
class RowVerdict:
    dtype: str
    kind: str
    axis: str | None
    parameter: float
    verdict: Verdict
    error_p95: float
    floor_p95: float
    excess_p95: float
    scaling: float | None  # observed error ratio to the compared precision
    expected_scaling: float | None
    reason: str
    excess_median: float = float("nan")
    family: str = ""
    groups: tuple = ()

    def line(self) -> str:
        symbol = "θ" if self.kind == "rotation" else "y"
        where = f"{self.kind}{' ' + self.axis if self.axis else ''} {symbol}={self.parameter:.3g}"
        s = f"{self.verdict}: {self.dtype} {where}: error p95 {self.error_p95:.3g}"
        if math.isfinite(self.floor_p95) and math.isfinite(self.error_p95):
            s += f", {self.excess_p95:.3g}× the precision floor (p95 over jets)"
        if self.scaling is not None and self.scaling > 1e200:  # the finer precision's error is exactly 0
            s += f"; the finer precision's error is exactly 0 (rounding would scale it {self.expected_scaling:.3g}×)"
        elif self.scaling is not None:
            s += (
                f"; changing precision scales it {self.scaling:.3g}× (rounding would give {self.expected_scaling:.3g}×)"
            )
        return s + f" — {self.reason}"


@dataclass
class Judgement:
    verdict: Verdict
    rows: list[RowVerdict]
    skipped: dict[str, str]
    threshold: float
    group: str = "full"
    notes: list[str] = field(default_factory=list)
    invariant: bool = True  # the output is invariant (scalar); False: it transforms (equivariance is judged)
    # what a PASS does not show (in notes too; warned where an assert passes): jets far beyond their floor in rows
    # that all PASS, a comparison precision far beyond its own
    outliers: list[str] = field(default_factory=list)
    inconsistent: str = ""  # "the model is not deterministic", … (validate/consistency.py); "" for a per-jet function

    def worst(self) -> RowVerdict | None:
        bad = [r for r in self.rows if r.verdict == self.verdict and r.verdict != PASS]
        if self.inconsistent:  # the finding decides an inconsistent model's UNRESOLVED: a row it made so, else one
            # it limits (with a finite excess: an overflow row says less about the model)
            made = [r for r in bad if r.reason.startswith(self.inconsistent)]
            bad = made or [r for r in bad if math.isfinite(r.excess_p95)] or bad
        return max(bad, key=lambda r: r.excess_p95 if math.isfinite(r.excess_p95) else 1e300) if bad else None

    def by_dtype(self) -> dict[str, Verdict]:
        """Worst verdict per dtype (UNRESOLVED shown only where nothing else was resolved)."""
        out: dict[str, list] = {}
        for r in self.rows:
            out.setdefault(r.dtype, []).append(r.verdict)
        return {k: headline(v) for k, v in out.items()}

    def reasons_by_dtype(self) -> dict[str, str]:
        """For each dtype, the reason of its deciding row (or of its unresolved rows)."""
        out = {}
        for name, v in self.by_dtype().items():
            rows = [r for r in self.rows if r.dtype == name]
            deciding = [r for r in rows if r.verdict == v]
            unresolved = [r for r in rows if r.verdict == UNRESOLVED]
            why = deciding[-1].reason if deciding else ""
            if v != UNRESOLVED and unresolved:
                why += f"; {len(unresolved)} of {len(rows)} rows UNRESOLVED ({unresolved[-1].reason})"
            out[name] = why
        return out

    def by_group(self) -> dict[str, Verdict]:
        """Verdict per group over the rows whose transformation lies in it — only the subgroups of the group the
        sweep was restricted to (a sweep of the beam subgroup says nothing about the full group), and only those
        with a row."""
        out = {}
        for g in SUBGROUPS[self.group]:
            got = families_headline(r for r in self.rows if g in r.groups)
            if got is not None:
                out[g] = got
        return out

    def by_curve(self) -> dict[tuple[str, str], Verdict]:
        """Verdict per (dtype, family): one curve of the report's figures, the headline of its rows. A dtype's
        verdict (`by_dtype`) is the headline of its curves', the model's that of the dtypes'."""
        out: dict[tuple[str, str], list] = {}
        for r in self.rows:
            out.setdefault((r.dtype, r.family), []).append(r.verdict)
        return {k: headline(v) for k, v in out.items()}

    def by_family(self) -> dict[str, Verdict]:
        out: dict[str, list] = {}
        for r in self.rows:
            out.setdefault(r.family, []).append(r.verdict)
        return {k: headline(v) for k, v in out.items()}

    def summary(self) -> str:
        """One sentence: "invariant under rotations about z; breaks boosts along x, …" (families of the grid)."""
        fam = self.by_family()
        holds = "invariant" if self.invariant else "equivariant"
        if set(fam.values()) == {PASS}:
            families = f"{len(fam)} famil{'ies' if len(fam) != 1 else 'y'}"
            return f"{holds} under every transformation tested ({families}: {', '.join(fam)})"
        words = {
            PASS: f"{holds} under",
            NUMERICAL: "rounding-limited (NUMERICAL) under",
            BROKEN: "breaks",
            NONFINITE: "non-finite outputs under",
            UNRESOLVED: f"unresolved ({self.inconsistent}) under"
            if self.inconsistent
            else "unresolved at these precisions under",
        }
        parts = []
        for v in Verdict:
            names = [f for f, fv in fam.items() if fv == v]
            if names:
                parts.append(f"{words[v]} {', '.join(names)}")
        groups = self.by_group()
        passed = {f for f, fv in fam.items() if fv == PASS}
        held = [
            GROUP_NAMES[g]
            for g in ("full", "so3", "beam", "rot_z", "boost_z")
            if groups.get(g) == PASS and GROUP_NAMES[g] not in passed
        ]
        if held and groups.get("full") != PASS:
            parts.append("subgroup that holds: " + held[0])
        return "; ".join(parts)


def _comparison(meas: Measurement, measured: dict[str, Measurement]) -> Measurement | None:
    """The precision to compare with: the finest other one if this is not the finest, else the next coarser."""
    others = [m for m in measured.values() if m is not meas and m.unit != meas.unit and m.computed_in is None]
    if not others:
        return None
    finer = [m for m in others if m.unit < meas.unit]
    if finer:
        return min(finer, key=lambda m: m.unit)
    return min(others, key=lambda m: m.unit)


def _within(excess: torch.Tensor, threshold: float) -> bool:
    return median(excess) <= threshold and p95(excess) <= TAIL * threshold


def _nonfinite_rule(meas, i, measured) -> tuple[Verdict, str] | None:
    bad = ~torch.isfinite(meas.errors[i])
    if not bad.any():
        return None
    n, k = bad.numel(), int(bad.sum())
    which = torch.nonzero(bad)[:, 0].tolist()
    jets = f" (jet{'s' if k > 1 else ''} {', '.join(map(str, which[:3]))}{', …' if k > 3 else ''})"
    if meas.inputs_overflow is not None and bool(meas.inputs_overflow[i]):
        return UNRESOLVED, f"the transformed inputs exceed {meas.name}'s range ({k} of {n} outputs non-finite)"
    wide = measured.get("float64")
    if wide is None or wide is meas:
        return NONFINITE, f"{k} of {n} outputs are NaN or inf{jets}"
    both = int((~torch.isfinite(wide.errors[i][bad])).sum())
    if both == 0:
        return UNRESOLVED, (
            f"{k} of {n} outputs non-finite in {meas.name}, finite in float64: this precision's range or rounding "
            "(an overflow, √ of a mass² rounded below 0), not the model's function"
        )
    return NONFINITE, f"{k} of {n} outputs are NaN or inf{jets}, {both} of them in float64 too"


def _floor_rule(meas, i) -> tuple[Verdict, str] | None:
    bad = ~torch.isfinite(meas.floor[i])
    if bad.any():
        return UNRESOLVED, (
            f"the precision floor cannot be computed for {int(bad.sum())} jets: the model's output is not finite "
            "under rounding-sized perturbations of them"
        )
    return None


def _within_rule(meas, i, jets, threshold) -> tuple[Verdict, str] | None:
    if not _within(meas.excess[i][jets], threshold):
        return None
    if meas.coarse_output:
        return UNRESOLVED, (
            f"output rounding: the model returns {meas.output_described}, which cannot "
            f"resolve errors below ~{meas.unit:.1g} (within that floor)"
        )
    # above the floor but within the PASS bounds: the model's own rounding (docs/validation.md, "Verdicts")
    at_floor = p95(meas.excess[i][jets]) <= 1
    return PASS, "within the precision floor" if at_floor else "within the floor's rounding allowance"


def _scaling(meas, other, i, jets):
    """(lo, hi, jets compared, scaling, expected) of row i against another precision: the p95 error of the coarser
    over the finer one, on the jets the coarser can resolve (all `jets` if none), and the unit-roundoff ratio that
    rounding alone would give."""
    lo, hi = (meas, other) if meas.unit > other.unit else (other, meas)
    both = jets & _resolvable(lo, i)
    if not both.any():
        both = jets
    scaling = p95(lo.errors[i][both]) / max(p95(hi.errors[i][both]), 1e-300)
    return lo, hi, both, scaling, lo.unit / hi.unit


def _unscaled_above_floor(meas, i, jets, measured, threshold) -> tuple[str, float, float] | None:
    """A row within the PASS bounds but above its floor (median excess > 1), whose error does not shrink at a finer
    precision measured on the same transformation: (reason, scaling, expected), else None. The PASS bounds allow a
    correct model's own rounding 10²–10⁴ over the floor; in bfloat16 or float16 that is an O(0.1–1) error, which
    would hide an order-one symmetry bug — the finer precision tells them apart."""
    other = _comparison(meas, measured)
    if other is None or other.unit >= meas.unit or not bool(torch.isfinite(other.errors[i]).all()):
        return None
    # the finer precision's error is this row's only if this row shows it: it must stand above this precision's
    # floor, and this row's error must be nearer to it than to the floor (geometric midpoint). Otherwise — a break
    # below this precision's floor, or one in a code path only the finer precision takes — it is judged in the finer
    # precision's own row, and this row's excess is this precision's own rounding.
    e_fine, e_here, f_here = (median(x[i][jets]) for x in (other.errors, meas.errors, meas.floor))
    if e_fine <= f_here or e_here * e_here < e_fine * f_here:
        return None
    # and only where the finer precision's error is not its own rounding: at its own floor it is (an output that
    # rounding flips between two values — a near-tie in a k-nearest-neighbour choice — does so at every u); within
    # the PASS bounds but well above the floor (median excess beyond √threshold) it may be a bug that precision's
    # allowance hides, which this comparison is for
    if median(other.excess[i][jets]) <= math.sqrt(threshold) and _within(other.excess[i][jets], threshold):
        return None
    _, _, _, scaling, expected = _scaling(meas, other, i, jets)
    if scaling >= math.sqrt(expected):
        return None
    why = f"within the floor's allowance for rounding, but the error does not shrink in {other.name}"
    return why, scaling, expected


def _no_finer_outputs(meas, measured) -> str | None:
    """Whether this precision's finer precisions were measured and returned outputs no finer than this row's (a model
    returning bfloat16 whatever it is given): then the comparison that tells this precision's rounding allowance —
    an O(0.1–1) error in bfloat16/float16 — from an order-one symmetry bug has nothing finer to compare with. The
    reason, else None."""
    finer = [
        m for m in measured.values() if m is not meas and m.errors is not None and m.precision.u < meas.precision.u
    ]
    if not finer or any(m.unit < meas.unit for m in finer):
        return None
    return (
        f"within {meas.name}'s allowance for rounding, but the model returns {meas.output_described} for "
        f"{', '.join(m.name for m in finer)} inputs too: no finer output to tell that allowance (an error up to "
        "~100× the floor) from a symmetry bug"
    )


def excess_scales(e_lo: float, e_hi: float, floor_lo: float, err_lo: float, threshold: float) -> bool:
    """Whether median excesses `e_lo`, `e_hi` over the floor, at a coarser and a finer precision, are consistent with
    rounding the model amplifies — which exceeds its floor by the same factor at every precision. False where one
    precision sees the error far above its floor and the other near its own (a break below the coarser precision's
    floor, or in a code path only one precision takes), however the errors themselves compare: the smaller, taken as
    at least 1, must be at least the square root of the larger (the geometric midpoint between "the same excess" and
    "at the floor"). Only where the medians can speak: the larger beyond the PASS bound `threshold` (a row failing
    on its tail alone says nothing about its median), both finite, and the coarser precision (median floor
    `floor_lo`, median error `err_lo`) able to show the larger excess: amplified rounding of that size would reach an
    error of `CAPPED` there, where errors are capped and cannot keep pace — unless its errors stay well below that
    (median below `SATURATED`): then it shows that the excess is not rounding the model amplifies (a boost-only leak
    10⁵ × float64's floor, far below float32's, was NUMERICAL). One rule for the Lorentz rows and the property
    checks."""
    if not (math.isfinite(e_lo) and math.isfinite(e_hi)):
        return True
    small, big = sorted((e_lo, e_hi))
    capped = big * floor_lo >= CAPPED and err_lo >= SATURATED
    return big <= threshold or max(small, 1.0) ** 2 >= big or capped


def _excess_disagrees(lo, hi, i, jets, threshold) -> str | None:
    """`excess_scales` on row i's jets (the reason when it fails, else None)."""
    if not (jets & _resolvable(lo, i)).any():  # `_scaling` fell back to every jet: the coarser resolves none
        return None
    e_lo, e_hi = median(lo.excess[i][jets]), median(hi.excess[i][jets])
    if excess_scales(e_lo, e_hi, median(lo.floor[i][jets]), median(lo.errors[i][jets]), threshold):
        return None
    return (
        f"the excess over the floor does not scale with the unit roundoff: median {e_lo:.3g}× in {lo.name}, "
        f"{e_hi:.3g}× in {hi.name} (rounding gives the same excess at every precision)"
    )


def _unsaturated_scaling(lo, hi, i, jets) -> float | None:
    """The error ratio of the coarser to the finer precision (medians) on row i's `jets` where the coarser's error is
    below SATURATED, if those are most of them, else None. Where the coarser's p95 error is O(1), the p95 ratio can
    come from a few jets it cannot resolve at all (a mass² that cancels to 0 in float32 at rapidity 6: errors of 10²³)
    while the rest carry an error that is the same at both precisions, a symmetry bug; rounding the model amplifies
    scales with the unit roundoff on every jet it has not yet saturated."""
    fine = jets & (lo.errors[i] < SATURATED)
    if 2 * int(fine.sum()) <= int(jets.sum()):
        return None
    e_lo, e_hi = median(lo.errors[i][fine]), median(hi.errors[i][fine])
    if e_lo == 0:  # nothing to compare on the bulk
        return None
    return e_lo / max(e_hi, 1e-300)


def _resolvable(meas, i) -> torch.Tensor:
    """Jets whose floor is below SATURATED and whose outputs do not underflow to 0 in this precision (where float64's
    are not): where this precision can resolve the function at all."""
    ok = meas.floor[i] < SATURATED
    return ok if meas.underflow is None else ok & ~meas.underflow[i]


def _set_aside(meas, i, jets) -> str:
    """Why the jets not in `jets` were set aside, in a few words."""
    under = 0 if meas.underflow is None else int((meas.underflow[i] & ~jets).sum())
    k = int((~jets).sum())
    if under == 0:
        return f"floor ≥ {SATURATED}"
    if under == k:
        return "outputs 0 where float64's are not (underflow)"
    return f"floor ≥ {SATURATED} or outputs 0 where float64's are not (underflow)"


def _judge_row(meas, i, measured, threshold):
    """(verdict or "pending", reason, scaling, expected) of row i of one measurement."""
    for rule in (lambda: _nonfinite_rule(meas, i, measured), lambda: _floor_rule(meas, i)):
        got = rule()
        if got:
            return (*got, None, None)
    if meas.vanished:
        return UNRESOLVED, f"every output is exactly 0 in {meas.name}, not in float64: it underflows here", None, None
    if meas.computed_in is not None:
        why = (
            f"the model computes in {dtype_name(meas.computed_in)} inside: {meas.computed_in_evidence}, so "
            f"{meas.name} cannot be measured"
        )
        return UNRESOLVED, why, None, None
    jets = _resolvable(meas, i)
    n, k = jets.numel(), int((~jets).sum())
    under = 0 if meas.underflow is None else int(meas.underflow[i].sum())
    if 2 * k > n:
        why = f"saturated: the precision floor is ≥ {SATURATED} for {k} of {n} jets"
        if 2 * under > k:
            why = (
                f"underflow: {meas.name}'s outputs are exactly 0 for {under} of {n} jets where float64's are not — "
                "it cannot resolve the function there"
            )
        elif meas.coarse_output:
            why = f"output rounding: the model returns {meas.output_described}, whose floor is ≥ {SATURATED}"
            why += f" for {k} of {n} jets"
        return UNRESOLVED, why, None, None
    aside = f" ({k} of {n} jets set aside: {_set_aside(meas, i, jets)}, unresolvable in {meas.name})" if k else ""
    got = _within_rule(meas, i, jets, threshold)
    if got and got[0] is PASS and median(meas.excess[i][jets]) > 1:
        broken = _unscaled_above_floor(meas, i, jets, measured, threshold)
        if broken:
            return BROKEN, broken[0] + aside, *broken[1:]
        # only where the allowance reaches an order-one error (threshold × floor ≥ SATURATED: bfloat16, float16):
        # below that, the PASS bounds cannot hide such a bug (a float32-only model keeps its PASS)
        hidden = _no_finer_outputs(meas, measured)
        if hidden and threshold * median(meas.floor[i][jets]) >= SATURATED:
            return UNRESOLVED, hidden + aside, None, None
    if got:
        return got[0], got[1] + aside, None, None
    err = p95(meas.errors[i][jets])
    other = _comparison(meas, measured)
    if other is not None:  # compared on the jets both precisions give finite outputs for (an overflow in the other
        # precision on a few jets says nothing about how the error scales on the rest), if that is most of them
        finite = jets & torch.isfinite(other.errors[i])
        if 2 * int(finite.sum()) > int(jets.sum()):
            dropped = int(jets.sum()) - int(finite.sum())
            if dropped:
                aside += f" ({dropped} jets left out of the comparison: non-finite in {other.name})"
            jets = finite
        else:
            other = None
    if other is None:
        if median(meas.excess[i][jets]) > TAIL * threshold:
            why = "median excess beyond anything rounding explains (no second precision needed)"
            return BROKEN, why + aside, None, None
        coarse = _no_finer_outputs(meas, measured)
        what = "no second precision" if coarse is None else f"no finer output ({meas.output_described} for every input)"
        return NUMERICAL, f"excess error and {what} to tell rounding from a symmetry bug" + aside, None, None
    lo, hi, both, scaling, expected = _scaling(meas, other, i, jets)
    e_lo = p95(lo.errors[i][both])
    if scaling >= math.sqrt(expected):
        if err >= SATURATED and meas is lo and _within(hi.excess[i][both], threshold):
            why = f"saturated beyond the first-order floor; {hi.name} within its floor"
            return UNRESOLVED, why + aside, scaling, expected
        bulk = _unsaturated_scaling(lo, hi, i, both) if e_lo >= SATURATED else None
        if bulk is not None and bulk < math.sqrt(expected):
            why = (
                f"{lo.name}'s p95 error is ≥ {SATURATED}, and on the jets where its error is below that the error "
                f"scales {bulk:.3g}× — a tail of jets {lo.name} cannot resolve made the p95s scale"
            )
            return "pending", why + aside, bulk, expected
        disagree = _excess_disagrees(lo, hi, i, both, threshold)
        if disagree:
            return BROKEN, disagree + aside, scaling, expected
        return NUMERICAL, "excess error, but it scales with the unit roundoff" + aside, scaling, expected
    if e_lo >= SATURATED:
        why = f"{lo.name}'s error is ≥ {SATURATED} here, too large to show how it scales with the precision"
        return "pending", why + aside, scaling, expected
    return BROKEN, "the error does not shrink with the unit roundoff" + aside, scaling, expected


def judge(result: Sweep, threshold: float = DEFAULT_THRESHOLD) -> Judgement:
    """Verdict per row, dtype, group and for the model (module docstring)."""
    if not (threshold > 1 and math.isfinite(threshold)):
        raise ValueError(f"threshold must be a finite number > 1, got {threshold}")
    measured = {k: m for k, m in result.measurements.items() if m.errors is not None}
    if not any(not m.companion for m in measured.values()):
        raise ValueError("nothing was measured (every dtype skipped): " + "; ".join(result.skipped.values()))
    if any(m.floor is None for m in measured.values()):
        raise ValueError("judging needs the precision floor: measure with with_floor=True")
    memberships = groups_of(result.transforms)
    rows: list[RowVerdict] = []
    for name, meas in measured.items():
        if meas.companion:
            continue
        pending = []
        start = len(rows)
        for i, pt in enumerate(meas.points):
            verdict, reason, scaling, expected = _judge_row(meas, i, measured, threshold)
            if verdict == "pending":
                pending.append(len(rows))
            judged = _resolvable(meas, i)  # the row's figures over the jets its verdict used (all if none)
            if not judged.any():
                judged = torch.ones_like(judged)
            rows.append(
                RowVerdict(
                    name,
                    pt.kind,
                    pt.axis,
                    pt.parameter,
                    verdict,
                    p95(meas.errors[i][judged]),
                    p95(meas.floor[i][judged]),
                    p95(meas.excess[i][judged]),
                    scaling,
                    expected,
                    reason,
                    median(meas.excess[i][judged]),
                    pt.family,
                    memberships[i],
                )
            )
        # a saturated row takes the verdict of its family at smaller parameters: rounding shown there (a NUMERICAL
        # row, no bug) → NUMERICAL; a bug there, or no unsaturated evidence at all → BROKEN; a family whose smaller
        # rows all sit within their floors shows no rounding that could have grown into this row's excess, so the row
        # is held to the PASS bound of the tail (p95 excess beyond TAIL·threshold → BROKEN: an energy clamp that only
        # large boosts reach). Evidence is what the rows said before any pending row was resolved.
        settled = {k: r.verdict for k, r in enumerate(rows)}  # before any pending row is resolved: no chains
        for k in pending:
            r = rows[k]
            # evidence: the same kind of transformation at a smaller, non-zero parameter (a rapidity-0 element of a
            # custom family is a rotation, which says nothing about how a boost's error scales)
            smaller = [
                s
                for j, s in enumerate(rows[start:])
                if s.family == r.family
                and s.kind == r.kind
                and 0 < s.parameter < r.parameter
                and settled[start + j] != "pending"
            ]
            smaller_what = "angles" if r.kind == "rotation" else "rapidities"
            if smaller and all(s.verdict not in (BROKEN, NONFINITE) for s in smaller):
                if any(s.verdict == NUMERICAL for s in smaller):
                    v, why = NUMERICAL, f"{r.reason}; it scales at smaller {smaller_what}"
                elif r.excess_p95 > TAIL * threshold:
                    v, why = (
                        BROKEN,
                        f"{r.reason}; at smaller {smaller_what} the family is within its floor, so no rounding grew "
                        f"into this, and the p95 excess is beyond the {TAIL * threshold:g} rounding allows the tail",
                    )
                else:
                    v, why = NUMERICAL, f"{r.reason}; excess within what rounding could explain"
            else:
                v, why = BROKEN, f"{r.reason}; and no smaller rapidity or angle of its family shows rounding instead"
            rows[k] = RowVerdict(**{**vars(r), "verdict": v, "reason": why})
    # a model that is not a deterministic function of one jet cannot PASS: its rows within their (raised) floors say
    # only that any symmetry error hides below what the model varies by itself
    # (rows UNRESOLVED already — an overflow, a floor saturated by the raised floor — keep their reason, and say it)
    found = next((m.inconsistent for m in measured.values() if m.inconsistent is not None), None)
    for k, r in enumerate(rows):
        if found is not None and r.verdict in (PASS, NUMERICAL):
            rows[k] = RowVerdict(**{**vars(r), "verdict": UNRESOLVED, "reason": found.reason})
        elif found is not None and r.verdict == UNRESOLVED and found.short not in r.reason:
            rows[k] = RowVerdict(**{**vars(r), "reason": f"{r.reason}; and {found.short}"})
    overall = families_headline(rows) or PASS
    outliers = _outlier_notes(measured, rows, threshold)
    hidden = _companion_notes(measured, threshold) if overall != BROKEN else []
    notes = list(dict.fromkeys([*result.notes, *(n for m in measured.values() for n in m.notes), *outliers, *hidden]))
    return Judgement(
        overall,
        rows,
        result.skipped,
        threshold,
        result.group,
        notes,
        result.out_rep.is_invariant,
        [*outliers, *hidden],
        found.short if found is not None else "",
    )


def _outlier_notes(measured: dict[str, Measurement], rows: list, threshold: float) -> list[str]:
    """Jets beyond anything rounding explains (excess > TAIL·threshold) in a precision whose rows all PASS: the p95
    rule lets the worst 5 % of jets through, so one jet with a bug among 16 does not fail the verdict — say which."""
    out = []
    for name, meas in measured.items():
        if meas.companion or meas.excess is None or any(r.verdict != PASS for r in rows if r.dtype == name):
            continue
        ex = torch.nan_to_num(meas.excess, nan=0.0)
        resolvable = torch.stack([_resolvable(meas, i) for i in range(ex.shape[0])])
        ex = torch.where(resolvable, ex, torch.zeros_like(ex))  # jets this precision cannot resolve: aside
        jets = torch.nonzero((ex > TAIL * threshold).any(0))[:, 0].tolist()
        if jets:
            shown = ", ".join(map(str, jets[:5])) + (", …" if len(jets) > 5 else "")
            out.append(
                f"{len(jets)} of {ex.shape[1]} jets exceed {TAIL * threshold:.0e}× their floor in {name} though every "
                f"row passes (the p95 rule lets the worst 5 % through): jet {shown}"
            )
    return out


def _companion_notes(measured: dict[str, Measurement], threshold: float) -> list[str]:
    """A comparison precision the user did not ask for (measured to judge the others, not a row) whose median excess
    somewhere is beyond anything rounding explains: a break the requested precisions may not resolve — say so."""
    out = []
    for name, meas in measured.items():
        if not meas.companion or meas.computed_in is not None:  # float32 inside: its excess is float32's rounding
            continue
        worst = max((median(meas.excess[i][_resolvable(meas, i)]) for i in range(len(meas.points))), default=0.0)
        if math.isfinite(worst) and worst > TAIL * threshold:
            out.append(
                f"the {name} comparison run (measured to judge the requested precisions, not a row) shows a median "
                f"error {worst:.3g}× its floor: a symmetry break the requested precisions may not resolve — add "
                f"{name} to dtypes to judge it"
            )
    return out


def assert_lorentz_equivariant(
    model,
    p,
    mask,
    out_rep,
    *,
    group="full",
    dtypes=(torch.float32, torch.float64),
    threshold=DEFAULT_THRESHOLD,
    allow_numerical=False,
    allow_unresolved=False,
    attribute_layers=True,
    **sweep_kw,
) -> Judgement:
    """Assert that model(p, mask) transforms as `out_rep` ("scalar", "vector", an Irreps or a `cc.Rep`) under `group`
    ("full", "so3", "beam", "rot_z", "boost_z") by the precision-scaling verdict over the deterministic grid (boosts
    up to rapidity 6 along x, y, z and rotations; groups=("full",) etc. add random elements), restricted to the group.
    Fails with one line naming the worst row, the per-family summary and, for models that declare
    activation_irreps(), the first layer that breaks the symmetry. BROKEN and NONFINITE fail; NUMERICAL fails unless
    allow_numerical=True; a headline of UNRESOLVED (nothing could be resolved) fails unless allow_unresolved=True.
    Returns the Judgement."""
    __tracebackhide__ = True
    from .attribution import attribute

    check_group(group)
    out_rep = cc.Rep.parse(out_rep)
    j = judge(sweep(model, p, mask, dtypes=dtypes, out_rep=out_rep, group=group, **sweep_kw), threshold)
    fail = j.verdict in (BROKEN, NONFINITE) or (
        (j.verdict == NUMERICAL and not allow_numerical) or (j.verdict == UNRESOLVED and not allow_unresolved)
    )
    if fail:
        what = "invariance" if out_rep.is_invariant else "equivariance"
        msg = f"Lorentz {what} {j.worst().line()} (under {GROUP_NAMES[group]}: {j.summary()})"
        if j.notes:
            msg += "; note: " + "; ".join(j.notes)
        if attribute_layers and hasattr(model, "activation_irreps") and j.verdict == BROKEN:
            layers = attribute(model, p, mask)
            if layers.first_broken is not None:
                msg += f"; first layer that breaks it: {layers.first_broken}"
        raise AssertionError(msg)
    for note in j.outliers:  # a pass the p95 rule allowed: say so where the test runs (pytest shows warnings)
        warnings.warn(
            f"assert_lorentz_{'invariant' if out_rep.is_invariant else 'equivariant'} passed, but {note}",
            UserWarning,
            stacklevel=3,
        )
    return j


def assert_lorentz_invariant(model, p, mask, **kw) -> Judgement:
    """assert_lorentz_equivariant with invariant ("scalar") outputs; same keywords (for covariant outputs, call
    assert_lorentz_equivariant with their `out_rep`)."""
    __tracebackhide__ = True
    if "out_rep" in kw:
        if cc.Rep.parse(kw.pop("out_rep")) != cc.SCALAR:
            raise ValueError(
                "assert_lorentz_invariant checks invariant outputs; for a covariant output (a four-vector, Irreps) "
                "call assert_lorentz_equivariant(model, p, mask, out_rep=…)"
            )
    return assert_lorentz_equivariant(model, p, mask, cc.SCALAR, **kw)
