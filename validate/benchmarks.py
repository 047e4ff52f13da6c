"""Saved pytest-benchmark runs (`--benchmark-autosave`, `.benchmarks/<machine>/NNNN_*.json`) side by side across
machines, with ratios to the first run."""

from __future__ import annotations

import json
from pathlib import Path


def _machine(info: dict) -> str:
    cpu = info.get("cpu", {})
    brand = cpu.get("brand_raw") or cpu.get("brand") or info.get("processor") or "unknown CPU"
    parts = [brand.strip(), f"{cpu.get('count', '?')} cores"]
    if info.get("torch_threads") is not None:
        parts.append(f"{info['torch_threads']} torch threads")
    if info.get("torch"):
        parts.append(f"torch {info['torch']}")
    if info.get("cuda"):
        parts.append(f"GPU {info['cuda']}")
    return ", ".join(parts)


def load_run(path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stats = {
            b["fullname"].split("::")[-1] if "fullname" in b else b["name"]: b["stats"] for b in data["benchmarks"]
        }
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a pytest-benchmark result file ({type(e).__name__}: {e})") from None
    return {
        "file": str(path),
        "machine": _machine(data.get("machine_info", {})),
        "datetime": data.get("datetime", ""),
        "stats": stats,
    }


def find_runs(directory=".benchmarks") -> list[Path]:
    return sorted(Path(directory).glob("*/*.json"), key=lambda p: p.stat().st_mtime)


def compare(runs: list[dict], stat: str = "median") -> list[dict]:
    """Rows {benchmark, <run i>: seconds, ratio_<i>: run i / run 0} over the benchmarks of the first run."""
    if not runs:
        return []
    rows = []
    for name in runs[0]["stats"]:
        row = {"benchmark": name}
        base = runs[0]["stats"][name][stat]
        for i, run in enumerate(runs):
            value = run["stats"].get(name, {}).get(stat)
            row[f"run{i}"] = value
            row[f"ratio{i}"] = None if value is None or not base else value / base
        rows.append(row)
    return rows


def format_table(runs: list[dict], stat: str = "median") -> str:
    lines = [f"run{i}: {r['machine']} ({r['datetime']}) — {r['file']}" for i, r in enumerate(runs)]
    head = ["benchmark"] + [f"run{i} [ms]" for i in range(len(runs))] + [f"run{i}/run0" for i in range(1, len(runs))]
    table = [head]
    for row in compare(runs, stat):
        cells = [row["benchmark"]]
        cells += ["—" if row[f"run{i}"] is None else f"{1e3 * row[f'run{i}']:.2f}" for i in range(len(runs))]
        cells += ["—" if row[f"ratio{i}"] is None else f"{row[f'ratio{i}']:.2f}" for i in range(1, len(runs))]
        table.append(cells)
    widths = [max(len(r[c]) for r in table) for c in range(len(head))]
    lines.append("")
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in table]
    return "\n".join(lines)
