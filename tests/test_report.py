"""The HTML report and the `clariant validate` main job; the report registered for this session's `pytest` run."""

import json
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

import clariant_core as cc
from clariant import cli
from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint, save_checkpoint
from validate import report
from validate.benchmarks import format_table, load_run
from validate.strategies import random_jets

DEFAULT = SAMPLE_DIR / cli.DEFAULT_CHECKPOINT


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.tables, self._row, self._cell = [], [], [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self.tables:
            self.tables[-1].append(self._row)
            self._row = None


def _png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    torch.manual_seed(0)
    model = cc.LGN().double()
    p, mask = random_jets(12, 16, seed=2, min_particles=3)
    result = report.run(model, p, mask, n_rapidities=4, n_angles=3, groups=("full", "beam"), n_random=4)
    index = report.write(result, out, model_card={"name": "fresh LGN"})
    return out, index, result


def test_report_files_exist_and_images_are_pngs(small_report):
    out, index, _ = small_report
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    assert set(page.images) == {
        "error_vs_rapidity.png",
        "error_vs_angle.png",
        "error_distributions.png",
        "attribution.png",
        *(f"properties_{name}.png" for name in ("permutation", "padding", "parity", "collinear_splits")),
        *(f"properties_{name}_scan.png" for name in ("infrared", "collinear")),
    }
    for src in page.images + page.links:
        assert (out / src).exists(), src  # every link resolves from disk
    for src in page.images:
        w, h = _png_size(out / src)
        assert w >= 500 and h >= 300


def test_html_values_equal_the_measured_ones(small_report):
    out, index, result = small_report
    data = json.loads((out / "report.json").read_text())
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    table = next(t for t in page.tables if t and t[0][:4] == ["dtype", "kind", "axis", "parameter"])
    head, body = table[0], table[1:]
    assert len(body) == len(data["rows"]) == len(result["rows"])
    for cells, row in zip(body, result["rows"]):
        for col in ("error_median", "error_p95", "error_max", "floor_p95", "excess_p95"):
            assert cells[head.index(col)] == f"{row[col]:.3g}"
        assert cells[head.index("verdict")] == row["verdict"]
    assert data["verdict"] == result["verdict"] == "PASS"
    assert data["skipped"]["bfloat16"] and "bfloat16" in index.read_text()  # skipped dtypes shown with a reason
    schur = next(t for t in page.tables if t and t[0][0] == "name" and "intertwiner_dim" in t[0])
    assert len(schur) - 1 == len(data["schur"]) == 4


def test_bench_compare_tables_runs_side_by_side(tmp_path, capsys):
    def run(name, brand, med):
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "machine_info": {"cpu": {"brand_raw": brand, "count": 2}, "torch_threads": 2},
                    "datetime": "2026-11-29",
                    "benchmarks": [
                        {"name": "test_a", "fullname": "b.py::test_a", "stats": {"median": med}},
                        {"name": "test_b", "fullname": "b.py::test_b", "stats": {"median": 2 * med}},
                    ],
                }
            )
        )
        return path

    a, b = run("a.json", "CPU A", 0.010), run("b.json", "CPU B", 0.005)
    text = format_table([load_run(a), load_run(b)])
    assert "CPU A" in text and "CPU B" in text and "0.50" in text and "10.00" in text
    assert cli.main(["bench", "compare", str(a), str(b)]) == 0
    assert "run1/run0" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("{}")
    assert cli.main(["bench", "compare", str(tmp_path / "bad.json")]) == 2


def test_default_checkpoint_is_shipped_and_trained():
    model, meta = load_checkpoint(DEFAULT)
    assert meta["kind"] == "lgn" and meta["test_metrics"]["auc"] > 0.9
    assert "sample" in meta["trained_on"]


def test_clariant_validate_main_job(tmp_path, capsys):
    code = cli.main(["validate", "--out", str(tmp_path), "--jets", "24", "--dtype", "float32", "--max-rapidity", "4"])
    assert code == 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["verdict"] == "PASS" and data["model_card"]["test auc"] > 0.9
    assert "verdict PASS" in capsys.readouterr().out


def test_clariant_validate_exits_nonzero_when_broken(tmp_path):
    beams = cc.LGN(cc.LGNConfig(beams=True))  # fixed beam vectors: invariant only under rotations about z
    ckpt = save_checkpoint(tmp_path / "beams.pt", beams, "lgn")
    code = cli.main(
        [
            "validate",
            "--checkpoint",
            str(ckpt),
            "--out",
            str(tmp_path / "r"),
            "--jets",
            "16",
            "--dtype",
            "float32",
            "--max-rapidity",
            "2",
        ]
    )
    assert code == 1
    assert json.loads((tmp_path / "r" / "report.json").read_text())["verdict"] == "BROKEN"


def test_clariant_validate_at_given_rapidities_and_axes(tmp_path):
    args = ["validate", "--out", str(tmp_path), "--jets", "8", "--dtype", "float64", "--rapidities", "0.5,6"]
    assert cli.main([*args, "--axes", "x,z"]) == 0
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    boosts = {(r["axis"], r["parameter"]) for r in rows if r["kind"] == "boost"}
    assert boosts == {(a, y) for a in "xz" for y in (0.5, 6.0)}


@pytest.mark.parametrize(
    "args,match",
    [
        (["--max-rapidity", "nan"], "max-rapidity"),
        (["--jets", "0"], "positive"),
        (["--rapidities", "1,-2"], "rapidities"),
        (["--rapidities", "1,x"], "rapidities"),
        (["--rapidities", "0,1"], "rapidities"),
        (["--axes", "x,w"], "axes"),
    ],
)
def test_clariant_validate_rejects_bad_settings(args, match, capsys):
    with pytest.raises(SystemExit):
        cli.main(["validate", *args])
    assert match in capsys.readouterr().err


def test_report_renders_in_headless_chromium(small_report, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    _, index, _ = small_report
    shot = tmp_path / "shot.png"
    res = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2400",
            f"--screenshot={shot}",
            index.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), res.stderr[-2000:]
    assert _png_size(shot) == (1280, 2400)
    console = [line for line in res.stderr.splitlines() if "CONSOLE" in line or "ERR_FILE_NOT_FOUND" in line]
    assert not console, console


def test_session_report_of_the_default_model(lorentz_report):
    """Registers the shipped default LGN, so a plain `pytest` run writes reports/index.html at the end."""
    model, meta = load_checkpoint(DEFAULT, dtype=torch.float64)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 64, dtype=torch.float64)
    width = int(b.mask.sum(1).max())
    card = {"checkpoint": DEFAULT.name, **{f"test {k}": v for k, v in meta["test_metrics"].items()}}
    lorentz_report.add(model, b.p[:, :width], b.mask[:, :width], name="default-lgn", model_card=card)
