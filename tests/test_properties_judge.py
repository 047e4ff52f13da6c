"""The verdict rules on synthetic data (no model): floors, precision scaling, power fits and plateaus."""

import json
import math

import torch

from clariant.validate.properties import PropertyVerdict
from clariant.validate.properties.judge import MIN_POWER, judge_rows, judge_scan
from clariant.validate.properties.report import to_json
from clariant.validate.properties.result import PropertyResult
from clariant.validate.properties.verdicts import worst

U64, U32 = 2.0**-53, 2.0**-24
B = 50
G = torch.Generator().manual_seed(0)


def jets(scale):
    return scale * (0.5 + torch.rand(B, generator=G, dtype=torch.float64))


def row(changes, floors):
    return {r.dtype: r.verdict for r in judge_rows("p", "c", changes, floors)}


def test_rows_pass_numerical_broken_unresolved_nonfinite():
    fl = {"float64": jets(U64), "float32": jets(U32)}
    assert row({"float64": jets(U64), "float32": jets(U32)}, fl) == {"float64": "PASS", "float32": "PASS"}
    # 10⁴× beyond the floor in both, shrinking with u: amplified rounding
    assert row({"float64": jets(1e4 * U64), "float32": jets(1e4 * U32)}, fl)["float64"] == PropertyVerdict.NUMERICAL
    # the same change at both precisions: not rounding
    assert set(row({"float64": jets(1e-3), "float32": jets(1e-3)}, fl).values()) == {PropertyVerdict.BROKEN}
    # no second precision: beyond the PASS bounds but within 10⁴ is NUMERICAL, beyond anything rounding explains BROKEN
    assert row({"float64": jets(1e3 * U64)}, {"float64": jets(U64)})["float64"] == PropertyVerdict.NUMERICAL
    assert row({"float64": jets(1e-3)}, {"float64": jets(U64)})["float64"] == PropertyVerdict.BROKEN
    assert row({"float32": jets(0.5)}, {"float32": jets(0.3)})["float32"] == PropertyVerdict.UNRESOLVED
    d = jets(U64)
    d[3] = math.inf
    assert row({"float64": d}, {"float64": jets(U64)})["float64"] == PropertyVerdict.NONFINITE


def scan(fn, floor=1e-15, k=15):
    t = [10 ** (-j / 2) for j in range(2, 2 + k)]
    c = torch.stack([fn(v) * (0.5 + torch.rand(B, generator=G, dtype=torch.float64)) for v in t])
    return judge_scan("infrared", "soft", "float64", "ε", t, c, torch.full((B,), floor, dtype=torch.float64))


def test_scans():
    linear = scan(lambda e: e)
    assert linear.verdict == PropertyVerdict.SAFE and abs(linear.power - 1) < 0.05
    sqrt = scan(lambda e: e**0.5)
    assert sqrt.verdict == PropertyVerdict.SAFE and abs(sqrt.tail_power - 0.5) < 0.1
    plateau = scan(lambda e: e + 1e-3)
    assert (
        plateau.verdict == PropertyVerdict.UNSAFE
        and abs(plateau.plateau / 1e-3 - 1) < 0.5
        and plateau.tail_power < MIN_POWER
    )
    to_floor = scan(lambda e: e**2, floor=1e-10)  # reaches the floor at ε ≈ 10⁻⁵
    assert to_floor.verdict == PropertyVerdict.SAFE and not to_floor.resolved[-1]
    assert scan(lambda e: e, floor=0.5).verdict == PropertyVerdict.UNRESOLVED
    assert scan(lambda e: math.inf).verdict == PropertyVerdict.NONFINITE
    assert "plateaus" in plateau.reason and "\n" not in plateau.line()


def test_vocabulary_and_json():
    assert (
        PropertyVerdict.PASS == "PASS" and f"{PropertyVerdict.UNSAFE}" == "UNSAFE" and str(PropertyVerdict.ODD) == "ODD"
    )
    assert worst(["PASS", "NUMERICAL", "BROKEN"]) == PropertyVerdict.BROKEN
    assert worst([PropertyVerdict.SAFE, PropertyVerdict.UNRESOLVED]) == PropertyVerdict.UNRESOLVED
    r = PropertyResult(
        "infrared", PropertyVerdict.SAFE, scans=[scan(lambda e: e)], by_dtype={"float64": PropertyVerdict.SAFE}
    )
    data = json.loads(json.dumps(to_json({"infrared": r})))
    assert data["infrared"]["verdict"] == "SAFE" and data["infrared"]["scans"][0]["verdict"] == "SAFE"
