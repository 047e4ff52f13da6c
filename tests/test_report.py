"""The HTML report and the `clariant validate` main job; the report registered for this session's `pytest` run."""

import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

import clariant_core as cc
from clariant import cli
from clariant.validate import forkpool, labels, logaxes, report, workers
from clariant.validate.benchmarks import format_table, load_run
from clariant.validate.strategies import random_jets
from clariant.validate.verdict import headline
from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint, save_checkpoint

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
    card = {
        "name": "fresh LGN",
        "config": {"max_irrep": 2, "channels": [4, 8]},
        "test metrics": {"auc": 0.95, "rejection_at_0.3": 12.5},
    }
    index = report.write(result, out, model_card=card)
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


@pytest.mark.skipif(not forkpool.available(), reason="forked workers need Linux without CUDA initialised")
def test_figures_drawn_in_worker_processes_are_the_ones_drawn_here(small_report, tmp_path, monkeypatch):
    """The figures are drawn in forked processes (logaxes.save_all): every file of the report is byte for byte the
    one drawn one after the other in this process."""
    _, _, result = small_report
    folders = {}
    for pool in ("threads", "processes"):  # "threads": one after the other, here
        monkeypatch.setenv(workers.POOL_ENV, pool)
        monkeypatch.setenv(workers.ENV, "2")
        folders[pool] = report.write(result, tmp_path / pool).parent
    names = sorted(f.name for f in folders["threads"].iterdir())
    assert names == sorted(f.name for f in folders["processes"].iterdir())
    assert sum(n.endswith(".png") for n in names) == 10
    for name in names:
        assert (folders["threads"] / name).read_bytes() == (folders["processes"] / name).read_bytes(), name


def _parsed(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


def _measurements(page: _Page) -> tuple[list[str], list[list[str]]]:
    """The "All measurements" table: (header, body rows)."""
    table = next(t for t in page.tables if t and t[0][:4] == ["dtype", "transformation", "rapidity y", "angle θ [rad]"])
    return table[0], table[1:]


def test_html_values_equal_the_measured_ones(small_report):
    out, index, result = small_report
    data = json.loads((out / "report.json").read_text())
    page = _parsed(index)
    head, body = _measurements(page)
    assert len(body) == len(data["rows"]) == len(result["rows"])
    for cells, row in zip(body, result["rows"]):
        stats = [k for k in report.MEASUREMENT_COLUMNS if k.startswith(("error_", "floor_", "excess_"))]
        assert len(stats) == 7  # median, p95, max of ε; median, p95 of the floor and of the excess
        for key in stats:
            assert cells[head.index(labels.column(key))] == f"{row[key]:.3g}"
        assert cells[head.index("verdict")] == row["verdict"]
        assert cells[head.index("transformation")] == row["family"]
        # rapidity and angle in their own columns, the other one empty
        rapidity, angle = cells[head.index("rapidity y")], cells[head.index("angle θ [rad]")]
        assert (rapidity, angle) == (
            ("", f"{row['parameter']:.3g}") if row["kind"] == "rotation" else (f"{row['parameter']:.3g}", "")
        )
    assert data["verdict"] == result["verdict"] == "PASS"
    assert data["skipped"]["bfloat16"] and "bfloat16" in index.read_text()  # skipped dtypes shown with a reason
    schur = next(t for t in page.tables if t and t[0][0] == "map" and "intertwiner dimension" in t[0])
    assert len(schur) - 1 == len(data["schur"]) == 4


def test_page_shows_words_and_explains_every_glyph(small_report):
    """Column headers in words (no data key with an underscore), the model card as a two-column table of words,
    and a caption under each curve figure naming each glyph."""
    _, index, _ = small_report
    text = index.read_text(encoding="utf-8")
    page = _parsed(index)
    headers = {cell for t in page.tables for cell in t[0]}
    raw = {k for k in labels.COLUMNS if "_" in k}
    assert not headers & raw, headers & raw
    card = next(t for t in page.tables if ["name", "fresh LGN"] in t)
    assert all(len(r) == 2 for r in card)
    assert ["configuration › max_irrep", "2"] in card and ["configuration › channels", "4, 8"] in card
    assert ["on the test split › background rejection 1/ε_B at 30 % signal efficiency", "12.5"] in card
    assert ["on the test split › area under the ROC curve (AUC)", "0.95"] in card
    assert "rejection_at" not in text and "{" not in "".join(c for r in card for c in r)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text, flags=re.S)
    assert len(captions) == len(page.images)  # every figure has its caption
    for caption in captions[:2]:  # error vs rapidity, error vs angle
        for glyph in (
            "▼",
            "shaded band",
            "precision floor",
            "exactly 0",
            "non-finite",
            "✕",
            "▲",
            "verdict of each curve",
        ):
            assert glyph in caption, glyph


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
    assert data["verdict"] == "PASS" and data["model_card"]["test metrics"]["auc"] > 0.9
    card = next(t for t in _parsed(tmp_path / "index.html").tables if t and t[0][0] == "checkpoint file")
    auc = next(v for k, v in card if k == "on the test split › area under the ROC curve (AUC)")
    assert float(auc) > 0.9
    assert any(k.startswith("configuration › ") for k, _ in card)  # the checkpoint's config, one row per field
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
    card = {"checkpoint": DEFAULT.name, "test metrics": meta["test_metrics"]}
    lorentz_report.add(model, b.p[:, :width], b.mask[:, :width], name="default-lgn", model_card=card)


# A model with mixed verdicts, exact zeros and NaN: M² + α·pT² of the jet is invariant only under the beam subgroup
# (boosts along z, rotations about z), so boosts along x, y and the oblique rotations are BROKEN; it returns NaN
# where the jet's energy exceeds E_CUT (not invariant: large boosts reach it, in float64 too), and float16 cannot
# hold M² of a 600 GeV jet. Jets 0–3 are particles at rest, which a rotation leaves exactly as they are (Λx is
# rounded once from the exact product), so their rotated error is exactly 0.
_ALPHA = 1e-3


def _jets_with_particles_at_rest():
    p, mask = random_jets(16, 8, seed=3, min_particles=2)
    p[:4], mask[:4] = 0.0, False
    p[:4, :2, 0] = torch.tensor([3.0, 5.0], dtype=p.dtype)
    mask[:4, :2] = True
    return p, mask


_P_MIXED, _MASK_MIXED = _jets_with_particles_at_rest()
_E_CUT = 40 * float((_P_MIXED[..., 0] * _MASK_MIXED).sum(1).max())


def beam_mass_nan_at_high_energy(p, mask):
    s = (p * mask[..., None].to(p.dtype)).sum(1)  # the jet's four-momentum [B, 4]
    pt2 = s[:, 1] ** 2 + s[:, 2] ** 2
    f = s[:, 0] ** 2 - pt2 - s[:, 3] ** 2 + _ALPHA * pt2
    return torch.where(s[:, 0] > _E_CUT, torch.full_like(f, float("nan")), f)[:, None]


@pytest.fixture(scope="module")
def mixed_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed")
    result = report.run(
        beam_mass_nan_at_high_energy,
        _P_MIXED,
        _MASK_MIXED,
        n_rapidities=6,
        n_angles=8,
        groups=("full",),
        n_random=4,
        properties=False,
    )
    index = report.write(result, out, model_card={"name": "M² + α pT², NaN at high energy"})
    return out, index, result


def _curve_legends(out: Path) -> dict[tuple[str, str], str]:
    """{(dtype, family): verdict word} as the legends of the two curve figures show them (read from the PNGs)."""
    got = {}
    for png in ("error_vs_rapidity.png", "error_vs_angle.png"):
        for line in logaxes.read_text(out / png, "Legend"):
            if " | " in line:  # a panel's own legend: "family | dtype: VERDICT"
                family, entry = line.split(" | ")
                dtype, verdict = entry.split(": ")
                got[(dtype, family)] = verdict
    return got


def test_verdicts_read_the_same_judgement_everywhere(mixed_report):
    """Legends, the verdict table, the measurements table and the headline all equal the Judgement's verdicts:
    per row, per curve (the headline of its rows), per dtype (of its curves) and for the model."""
    out, index, result = mixed_report
    j = result["_judgement"]
    assert {str(r.verdict) for r in j.rows} >= {"PASS", "BROKEN", "NONFINITE", "UNRESOLVED"}  # mixed rows
    page = _parsed(index)
    head, body = _measurements(page)
    assert len(body) == len(j.rows)
    for cells, r in zip(body, j.rows):
        assert (cells[head.index("dtype")], cells[head.index("transformation")]) == (r.dtype, r.family)
        assert cells[head.index("verdict")] == str(r.verdict)
    legends = _curve_legends(out)
    curves = {(r.dtype, r.family) for r in j.rows if r.kind in ("boost", "rotation")}
    assert set(legends) == curves  # one legend entry per curve
    for (dtype, family), verdict in legends.items():
        assert verdict == str(headline(r.verdict for r in j.rows if (r.dtype, r.family) == (dtype, family)))
    assert {v for v in legends.values()} >= {"PASS", "BROKEN", "NONFINITE"}
    table = next(t for t in page.tables if t and t[0][0] == "dtype" and report.DTYPE_VERDICT in t[0])
    head = table[0]
    for cells in table[1:]:
        dtype = cells[0]
        for family in head[1 : head.index(report.DTYPE_VERDICT)]:
            if (dtype, family) in legends:
                assert cells[head.index(family)] == legends[(dtype, family)]
        mine = [r.verdict for r in j.rows if r.dtype == dtype]
        assert cells[head.index(report.DTYPE_VERDICT)] == str(j.by_dtype()[dtype]) == str(headline(mine))
    h1 = re.search(r"<h1>Lorentz-symmetry report: <span class='(\w+)'>(\w+)</span></h1>", index.read_text())
    assert h1.group(2) == str(j.verdict) == str(headline(j.by_dtype().values())) == "NONFINITE"


def test_zero_and_nonfinite_errors_are_counted_not_invented(mixed_report):
    """Jets whose error is exactly 0 and jets with NaN outputs appear as counts on the figures' strips (read from
    the PNGs) and in the measurements table, equal to the per-jet errors; the log axes draw neither."""
    out, index, result = mixed_report
    rows, samples = result["rows"], result["_samples"]
    per_dtype: dict[str, int] = {}
    for r in rows:  # rows run through each dtype's transformations in order
        i = per_dtype.setdefault(r["dtype"], 0)
        per_dtype[r["dtype"]] += 1
        e = torch.as_tensor(samples[r["dtype"]][i])
        assert r["zero_jets"] == int((e == 0).sum()) and r["nonfinite_jets"] == int((~torch.isfinite(e)).sum())
    zero_rows = [r for r in rows if r["zero_jets"] and r["kind"] in ("boost", "rotation")]
    nan_rows = [r for r in rows if r["nonfinite_jets"] and r["kind"] in ("boost", "rotation")]
    assert any(r["family"] == "rotations about (1,2,2)/3" and r["dtype"] == "float32" for r in zero_rows)
    assert any(r["dtype"] == "float64" and r["kind"] == "boost" for r in nan_rows)
    marks = logaxes.read_text(out / "error_vs_rapidity.png", "Marks") + logaxes.read_text(
        out / "error_vs_angle.png", "Marks"
    )
    zero_marks = {tuple(m.split(" | ")[:4]): m.split(" | ")[4] for m in marks if " | zero | " in m}
    top_marks = {tuple(m.split(" | ")[:4]): m.split(" | ")[4] for m in marks if " | nonfinite | " in m}
    for r in (r for r in rows if r["kind"] in ("boost", "rotation")):
        where = (r["family"], "zero", r["dtype"], f"{r['parameter']:.6g}")
        assert zero_marks.get(where) == (str(r["zero_jets"]) if r["zero_jets"] else None)
        top = top_marks.get((r["family"], "nonfinite", r["dtype"], f"{r['parameter']:.6g}"))
        if r["nonfinite_jets"]:
            assert top is not None and top.split("✕")[0].split(" ")[0] == str(r["nonfinite_jets"])
        elif not (r["beyond_jets"] or r["floor_nonfinite_jets"]):
            assert top is None
    head, body = _measurements(_parsed(index))
    for cells, r in zip(body, rows):
        assert cells[head.index("jets with ε exactly 0")] == str(r["zero_jets"])
        assert cells[head.index("jets with non-finite output")] == str(r["nonfinite_jets"])
    legend = logaxes.read_text(out / "error_vs_rapidity.png", "Legend")
    assert "lower strip: number of jets (of 16) with ε exactly 0" in legend
    assert "upper strip: number of jets whose output is NaN or inf (of 16)" in legend
    # the distributions count them too: every entry is in the histogram, on a strip, or on the other strip
    dist = logaxes.read_text(out / "error_distributions.png", "Marks")
    assert any(" | nonfinite | float64 | " in m for m in dist) and any(" | zero | float32 | " in m for m in dist)


def test_log_axes_show_no_value_that_is_not_there():
    x = np.array([0.0, -1.0, np.nan, np.inf, -np.inf, np.finfo(float).max, 1e-300, 2.5])
    assert np.isnan(logaxes.shown(x)[:6]).all() and (logaxes.shown(x)[6:] == x[6:]).all()
    assert logaxes.zeros(x).tolist() == [True] + [False] * 7
    assert logaxes.nonfinite(x).tolist() == [False, False, True, True, True, False, False, False]
    assert logaxes.beyond(x).tolist() == [False] * 5 + [True, False, False]


def _figure(outside: float, kind: str = "text"):
    """A figure with a legend outside its axes and one more artist `outside` inches beyond the figure's left edge
    (or top edge), placed the way `kind` says."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 3], [1e-3, 1e-2, 1e-1], label="curve")
    ax.set_yscale("log")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    frac = -outside / 4  # of the figure's width (4 in); of the axes' width (~3.1 in) for axes coordinates
    if kind == "text":
        fig.text(frac, 0.5, "far left", transform=fig.transFigure)
    elif kind == "annotation":
        ax.annotate(
            "far left", (1, 1e-2), xytext=(-outside * 100, 0), textcoords="offset points", annotation_clip=False
        )
    elif kind == "title":
        ax.set_title("far up", y=1 + outside / 2)
    elif kind == "label":
        ax.yaxis.set_label_coords(-outside / 3, 0.5)
        ax.set_ylabel("far left")
    elif kind == "unclipped line":
        ax.plot([-outside / 3, -outside / 3 - 0.01], [0.5, 0.6], transform=ax.transAxes, clip_on=False, lw=3)
    elif kind == "subfigure":
        plt.close(fig)
        fig = plt.figure(figsize=(4, 3))
        sub = fig.subfigures(1, 1)
        sub.add_subplot().plot([1, 2], [1, 2], label="curve")
        sub.legend(loc="center right", bbox_to_anchor=(frac, 0.5))
    elif kind == "inset":
        ax.inset_axes([-outside / 3, 0.2, 0.2, 0.2]).plot([0, 1], [0, 1])
    return fig


KINDS = ["text", "annotation", "title", "label", "unclipped line", "subfigure", "inset"]


@pytest.mark.parametrize("outside", [0.5, 2 * logaxes.MARGIN_INCHES])
@pytest.mark.parametrize("kind", KINDS)
def test_figures_are_saved_as_tight_as_savefig_makes_them(tmp_path, outside, kind):
    """One render, cut to what was drawn, gives the picture `bbox_inches="tight"` gives (within a few pixels: the
    tight box follows the text boxes, the cut the inked pixels), with the text chunks and the resolution; an artist
    beyond the rendered margin — however it was placed — falls back to savefig's own "tight" and is still there."""
    from PIL import Image

    path = logaxes.save(_figure(outside, kind), tmp_path / "once.png")
    tight = tmp_path / "tight.png"
    _figure(outside, kind).savefig(tight, format="png", dpi=logaxes.DPI, bbox_inches="tight")
    once, ref = Image.open(path), Image.open(tight)
    assert abs(once.size[0] - ref.size[0]) <= 8 and abs(once.size[1] - ref.size[1]) <= 8, (once.size, ref.size)
    if kind != "subfigure":  # legend_lines reads the figure's and its axes' legends
        assert [line.split(" | ")[-1] for line in logaxes.read_text(path, "Legend")] == ["curve"]
    assert once.info["dpi"] == pytest.approx((logaxes.DPI, logaxes.DPI), abs=0.01)
    pixels = np.asarray(once.convert("RGB"))
    assert (pixels[:, :3] == 255).all() and (pixels[:, -3:] == 255).all()  # a white margin on both sides


def test_figures_without_pyplot_and_without_a_background_are_saved(tmp_path):
    """A `Figure()` made without pyplot has no Agg canvas of its own, and a transparent figure no background
    colour: both are written (savefig's "tight", or the cut), their text chunks kept."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from PIL import Image

    bare = Figure(figsize=(3, 2))
    bare.add_subplot().plot([1, 2], [2, 1], label="curve")
    bare.legend()
    clear = plt.figure(figsize=(3, 2), facecolor="none")
    clear.add_subplot().plot([1, 2], [2, 1], label="curve")
    clear.legend()
    for name, fig in (("bare", bare), ("clear", clear)):
        path = logaxes.save(fig, tmp_path / f"{name}.png")
        assert logaxes.read_text(path, "Legend") == ["curve"]
        assert 2 * logaxes.DPI <= Image.open(path).size[0] <= 4 * logaxes.DPI


def test_one_page_writer_for_every_page(small_report, tmp_path):
    """The validation report, the properties page and the self-check page come from validate/pages.py: the same
    head and style, tables with headers in words."""
    from clariant import selfcheck
    from clariant.validate import pages
    from clariant.validate.properties import run_all
    from clariant.validate.properties.report import page as properties_page

    _, index, _ = small_report
    rows = selfcheck.measure(rapidities=(0.0, 2.0), max_label=1)
    check = selfcheck.write_report(rows, tmp_path / "selfcheck", max_label=1)
    p, mask = random_jets(4, 6, seed=1, min_particles=3)
    props = properties_page(run_all(lambda p, m: m.to(p.dtype).sum(1, keepdim=True), p, mask), tmp_path / "props")
    style = re.compile(r"<style>(.*?)</style>", re.S)
    for path in (index, check, props):
        text = path.read_text(encoding="utf-8")
        assert style.search(text).group(1) == pages.STYLE, path
    table = _parsed(check).tables[0]
    assert table[0] == [
        "dtype",
        "rapidity y",
        "CG intertwining error",
        "homomorphism error",
        "metric error ΛᵀηΛ − η",
        "unit roundoff u",
    ]
    assert [row[0] for row in table[1:]] == [r.dtype for r in rows]
    assert table[1][2] == f"{rows[0].cg_error:.3g}"
