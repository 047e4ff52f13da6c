"""`clariant bench compare` on real pytest-benchmark result files: a tiny benchmark run twice (with the project's
benchmarks/conftest.py, so the device parametrization and machine info are those of real runs)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from clariant import cli
from clariant.validate.benchmarks import compare, load_run

ROOT = Path(__file__).resolve().parents[1]
TINY = """
import pytest


@pytest.mark.parametrize("n", [10, 1000])
def test_tiny(benchmark, device, n):
    benchmark.pedantic(sum, args=(range(n),), rounds=3, iterations=1)
"""


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two result files of the same tiny benchmark, run twice in a subprocess (made once for this module)."""
    folder = tmp_path_factory.mktemp("bench")
    (folder / "conftest.py").write_text((ROOT / "benchmarks" / "conftest.py").read_text(encoding="utf-8"))
    (folder / "test_tiny.py").write_text(TINY)
    files = []
    for name in ("a.json", "b.json"):
        cmd = [sys.executable, "-m", "pytest", "-q", f"--benchmark-json={name}", "-p", "no:cacheprovider"]
        cmd += ["--rootdir", str(folder), "test_tiny.py"]
        run = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        files.append(folder / name)
    return files


def test_compare_puts_the_same_benchmarks_side_by_side_with_ratios(two_runs, tmp_path, capsys):
    a, b = (load_run(f) for f in two_runs)
    cuda = {f"test_tiny[cuda:0-{n}]" for n in (10, 1000)} if torch.cuda.is_available() else set()
    assert set(a["stats"]) == set(b["stats"]) == {"test_tiny[cpu-10]", "test_tiny[cpu-1000]"} | cuda
    assert "AMD" in a["machine"] or "cores" in a["machine"]  # the CPU model recorded by benchmarks/conftest.py
    rows = compare([a, b])
    for row in rows:  # matched by name and parameters; ratio = run1 / run0
        name = row["benchmark"]
        assert row["run0"] == a["stats"][name]["median"] and row["run1"] == b["stats"][name]["median"]
        assert row["ratio1"] == pytest.approx(row["run1"] / row["run0"]) and row["ratio0"] == 1.0
    md, page = tmp_path / "cmp.md", tmp_path / "cmp.html"
    argv = ["bench", "compare", *map(str, two_runs), "--stat", "min", "--markdown", str(md), "--html", str(page)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "run1/run0" in out and "test_tiny[cpu-1000]" in out and f"written: {md}" in out
    lines = md.read_text().splitlines()
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].startswith("| benchmark | run0 [ms] | run1 [ms] | run1/run0 |") and len(table) == 2 + len(rows)
    row = next(r for r in rows if r["benchmark"] == "test_tiny[cpu-10]")
    assert f"| test_tiny[cpu-10] | {1e3 * a['stats']['test_tiny[cpu-10]']['min']:.2g} |" in md.read_text()
    assert "<table>" in page.read_text() and "test_tiny[cpu-10]" in page.read_text() and row["run0"] > 0


def test_a_benchmark_missing_from_a_run_shows_a_dash_and_bad_files_are_one_line(two_runs, tmp_path, capsys):
    a, b = (load_run(f) for f in two_runs)
    b["stats"].pop("test_tiny[cpu-10]")
    rows = {r["benchmark"]: r for r in compare([a, b])}
    assert rows["test_tiny[cpu-10]"]["run1"] is None and rows["test_tiny[cpu-10]"]["ratio1"] is None
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli.main(["bench", "compare", str(two_runs[0]), str(bad)]) == 2
    assert "not a pytest-benchmark result file" in capsys.readouterr().err
