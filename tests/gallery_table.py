"""Print the gallery's verdict table (markdown): `python tests/gallery_table.py`.

Runs every case of tests/test_gallery.py through sweep + judge and prints model | expected | verdict float64 |
verdict float32 | headline. Works against old and new suite code: an exception (missing API, refused input, crash)
is printed in the row instead of stopping the table. `ok` marks rows whose headline matches the expectation.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))

from test_gallery import GALLERY, run_case  # noqa: E402


def _short(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {msg[:120]}".replace("|", "/")


def _v(x) -> str:
    return str(getattr(x, "value", x))


def _matches(expected: str, headline: str) -> bool:
    return headline != "PASS" if expected == "!PASS" else headline == expected


def main() -> int:
    print("| model | expected | verdict float64 | verdict float32 | headline | ok |")
    print("| --- | --- | --- | --- | --- | --- |")
    failures = 0
    t0 = time.time()
    for case in GALLERY:
        expected = "not PASS" if case.expected == "!PASS" else case.expected
        try:
            j = run_case(case)
        except Exception as exc:  # noqa: BLE001 — the table reports whatever the suite does
            failures += 1
            print(f"| {case.name} | {expected} | {_short(exc)} | | | ✗ |")
            continue
        try:
            d = {k: _v(v) for k, v in j.by_dtype().items()}
        except Exception as exc:  # noqa: BLE001
            d = {"float64": _short(exc), "float32": ""}
        extra = "".join(f" ({k}: {v})" for k, v in d.items() if k not in ("float64", "float32"))
        headline = _v(j.verdict)
        try:
            groups = j.by_group()
            extra += " groups: " + ", ".join(f"{k}={_v(v)}" for k, v in groups.items())
        except Exception:  # noqa: BLE001 — by_group is new API
            pass
        ok = _matches(case.expected, headline)
        failures += not ok
        print(
            f"| {case.name} | {expected} | {d.get('float64', '—')} | {d.get('float32', '—')} | "
            f"{headline}{extra} | {'✓' if ok else '✗'} |"
        )
    print(f"\n{len(GALLERY) - failures}/{len(GALLERY)} headlines as expected ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
