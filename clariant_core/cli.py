"""The `clariant` command line."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path


def _rapidities(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"rapidities must be comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) and 0 <= v <= 20 for v in values):
        raise argparse.ArgumentTypeError(f"rapidities must be finite and in [0, 20], got {text!r}")
    return values


def _selfcheck(args) -> int:
    from . import selfcheck

    rows = selfcheck.measure(rapidities=args.rapidities, max_label=args.max_label)
    print(selfcheck.summary(rows))
    index = selfcheck.write_report(rows, Path(args.out))
    print(f"report: {index}")
    # the library is exact up to rounding: errors beyond 10³·u at rapidity ≤ 6 mean something is wrong
    bad = [r for r in rows if not (r.cg_error <= 1e3 * r.unit_roundoff * math.exp(2 * r.rapidity))]
    if bad:
        print(f"FAILED: {len(bad)} rows exceed 10³·u·e^(2y)", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="clariant", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("selfcheck", help="check the group library's precision and write reports/index.html")
    p.add_argument("--out", default="reports", help="report folder (default: reports)")
    p.add_argument("--rapidities", type=_rapidities, default=(0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0))
    p.add_argument("--max-label", type=int, default=2, choices=range(0, 5), help="irreps with k, n ≤ this")
    p.set_defaults(func=_selfcheck)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
