"""Saved pytest-benchmark runs (`--benchmark-autosave`, `.benchmarks/<machine>/NNNN_*.json`, or `--benchmark-json`)
side by side across machines and devices (`clariant bench compare`, docs/benchmarks.md): one row per benchmark
(name and parameters, e.g. `test_lgn_forward[cuda-float32-200]`), one column per run, ratios to the first run; as a
terminal table, markdown or HTML."""

from __future__ import annotations

import html
import json
from pathlib import Path


def _machine(info: dict) -> str:
    """One line: CPU model, cores, torch threads, torch, the malloc settings, and the GPU, driver and CUDA where
    there is one."""
    cpu = info.get("cpu", {})
    brand = info.get("cpu_model") or cpu.get("brand_raw") or cpu.get("brand") or info.get("processor") or "unknown CPU"
    parts = [brand.strip(), f"{cpu.get('count', '?')} cores"]
    if info.get("torch_threads") is not None:
        parts.append(f"{info['torch_threads']} torch threads")
    if info.get("torch"):
        parts.append(f"torch {info['torch']}")
    if info.get("malloc"):
        parts.append(info["malloc"])
    gpu = info.get("gpu") or info.get("cuda")  # older runs stored the GPU's name under "cuda"
    if gpu:
        extra = [f"{k} {info[k]}" for k in ("driver", "cuda_version") if info.get(k)]
        parts.append(f"GPU {gpu}" + (f" ({', '.join(extra)})" if extra else ""))
    return ", ".join(parts)


def load_run(path) -> dict:
    """{file, machine, datetime, stats: {benchmark name with parameters: pytest-benchmark's stats}}."""
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
    """Rows {benchmark, run<i>: seconds or None, ratio<i>: run i / run 0 or None}, one per benchmark (name and
    parameters) found in any run, in the order they first appear."""
    names = list(dict.fromkeys(name for run in runs for name in run["stats"]))
    rows = []
    for name in names:
        row = {"benchmark": name}
        values = [run["stats"].get(name, {}).get(stat) for run in runs]
        for i, value in enumerate(values):
            row[f"run{i}"] = value
            row[f"ratio{i}"] = None if value is None or not values[0] else value / values[0]
        rows.append(row)
    return rows


def _ms(seconds: float) -> str:
    ms = 1e3 * seconds
    return f"{ms:.2f}" if ms >= 0.1 else f"{ms:.2g}"


def _cells(runs: list[dict], stat: str) -> tuple[list[str], list[list[str]]]:
    head = ["benchmark"] + [f"run{i} [ms]" for i in range(len(runs))] + [f"run{i}/run0" for i in range(1, len(runs))]
    body = []
    for row in compare(runs, stat):
        cells = [row["benchmark"]]
        cells += ["—" if row[f"run{i}"] is None else _ms(row[f"run{i}"]) for i in range(len(runs))]
        cells += ["—" if row[f"ratio{i}"] is None else f"{row[f'ratio{i}']:.2f}" for i in range(1, len(runs))]
        body.append(cells)
    return head, body


def _legend(runs: list[dict]) -> list[str]:
    return [f"run{i}: {r['machine']} ({r['datetime']}) — {r['file']}" for i, r in enumerate(runs)]


def format_table(runs: list[dict], stat: str = "median") -> str:
    """The terminal table: the runs' machines, then one aligned row per benchmark."""
    head, body = _cells(runs, stat)
    table = [head, *body]
    widths = [max(len(r[c]) for r in table) for c in range(len(head))]
    lines = [*_legend(runs), ""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in table]
    return "\n".join(lines)


def format_markdown(runs: list[dict], stat: str = "median") -> str:
    """The same table in markdown, the runs' machines as a list above it."""
    head, body = _cells(runs, stat)
    lines = [f"- {line}" for line in _legend(runs)] + ["", f"{stat} time per call; ratios to run0.", ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(" --- " for _ in head) + "|")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def format_html(runs: list[dict], stat: str = "median") -> str:
    """A standalone HTML page with the same table."""
    head, body = _cells(runs, stat)
    legend = "".join(f"<li>{html.escape(line)}</li>" for line in _legend(runs))
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return (
        "<!doctype html><meta charset='utf-8'><title>Benchmarks compared</title>"
        "<style>td,th{padding:2px 8px;text-align:right}td:first-child{text-align:left}</style>"
        f"<h1>Benchmarks compared</h1><ul>{legend}</ul><p>{html.escape(stat)} time per call; ratios to run0.</p>"
        "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + f"</tr>{rows}</table>\n"
    )


__all__ = ["compare", "find_runs", "format_html", "format_markdown", "format_table", "load_run"]
