"""The `clariant` command line."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

#: the largest rapidity `clariant validate` boosts by: e^12 ≈ 1.6·10⁵ takes TeV momenta to ~10⁸ GeV, whose squares
#: float32 still holds with room; `selfcheck` (the group library alone) goes to 20
MAX_VALIDATE_RAPIDITY = 12.0
DEFAULT_VALIDATE_JETS = 256


def _rapidities(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"rapidities must be comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) and 0 <= v <= 20 for v in values):
        raise argparse.ArgumentTypeError(f"rapidities must be finite and in [0, 20], got {text!r}")
    return values


def _selfcheck(args) -> int:
    from clariant import selfcheck
    from clariant.validate import report_folder

    report_folder.check_out_dir(args.out)  # before the measurement, as validate does
    rows = selfcheck.measure(rapidities=args.rapidities, max_label=args.max_label)
    print(selfcheck.summary(rows))
    index = selfcheck.write_report(rows, Path(args.out), args.max_label)
    print(f"report: {index}")
    # the library is exact up to rounding: errors beyond 10³·u at rapidity ≤ 6 mean something is wrong
    bad = [r for r in rows if not (r.cg_error <= 1e3 * r.unit_roundoff * math.exp(2 * r.rapidity))]
    if bad:
        print(f"FAILED: {len(bad)} rows exceed 10³·u·e^(2y)", file=sys.stderr)
        return 1
    return 0


#: optional extras by name: the modules they provide (pyproject.toml's [project.optional-dependencies])
EXTRAS = {"generate": ("pythia8mc", "fastjet")}


class MissingExtra(RuntimeError):
    """An optional extra a command needs is not installed (caught by `main`: a one-line message, exit code 2)."""


def require_extra(extra: str, command: str) -> None:
    """Before any work: the modules of `extra` import, else MissingExtra saying how to install them."""
    import importlib

    missing = []
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingExtra(
            f"{command} needs the '{extra}' extra ({', '.join(missing)} not installed): "
            f"pip install -e '.[{extra}]' (or: pip install 'clariant[{extra}]')"
        )


def _data_generate(args) -> int:
    import json
    import shlex

    require_extra("generate", "clariant data generate")
    from clariant_core.atomic import write_text
    from clariant_core.data.generate import RECORD, GeneratorSettings, generate_dataset

    settings = GeneratorSettings()
    report = generate_dataset(
        args.out,
        args.jets,
        seed=args.seed,
        workers=args.workers,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        chunk_size=args.chunk_size,
        settings=settings,
        overwrite=args.overwrite,
        process=args.process,
    )
    record = {
        "command": "clariant " + shlex.join(args.argv),
        "seed": args.seed,
        "settings": settings.__dict__,
        "report": report.to_dict(),
    }
    write_text(Path(args.out) / RECORD, json.dumps(record, indent=2) + "\n", overwrite=args.overwrite)
    rate = report.jets / max(report.cpu_seconds, 1e-9)
    print(f"{report.jets} jets in {report.wall_seconds:.0f} s wall, {rate:.1f} jets per CPU-second → {args.out}")
    return 0


def _data_inspect(args) -> int:
    import json

    from clariant_core.data.inspect import summarize

    print(json.dumps(summarize(args.file, args.max_jets, Path(args.plot) if args.plot else None), indent=2))
    return 0


def _train(args) -> int:
    import json

    from clariant_core.data import SAMPLE_DIR
    from clariant_core.devices import resolve_device
    from clariant_core.training import TrainConfig, train

    try:
        model_config = json.loads(args.model_config) if args.model_config else {}
    except json.JSONDecodeError as e:
        raise ValueError(f"--model-config is not valid JSON: {e}") from None
    if not isinstance(model_config, dict):
        raise ValueError(f"--model-config must be a JSON object, got {type(model_config).__name__}")
    cfg = TrainConfig(
        data=args.data or str(SAMPLE_DIR),
        out=args.out,
        model=args.model,
        model_config=model_config,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        patience=args.patience,
        seed=args.seed,
        dtype=args.dtype,
        max_train_jets=args.max_train_jets,
        threads=args.threads,
        progress=not args.quiet,
        overwrite=args.overwrite,
        resume=args.resume,
        stop_after=args.stop_after,
        task=args.task,
        particle=tuple(args.particle),
        device=args.device,
    )
    resolve_device(cfg.device)  # an absent device is one line now, before any data is read
    m = train(cfg)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    if not m["finished"]:
        print(f"stopped after epoch {m['epoch']}; continue with: clariant train --resume --out {m['out']} …")
        return 0
    if args.task != "classify":
        print(f"{m['model']} {args.task}: {_regression_line(m)}; naive Σ constituents: {_regression_line(m['naive'])}")
        print(f"{m['parameters']} parameters, {m['train_seconds']:.0f} s → {m['out']}/metrics.json")
        return 0
    print(
        f"{m['model']}: test accuracy {m['accuracy']:.4f}, AUC {m['auc']:.4f}, "
        f"1/eB@0.3 {m['rejection_at_0.3']:.1f}, 1/eB@0.5 {m['rejection_at_0.5']:.1f}, "
        f"{m['parameters']} parameters, {m['train_seconds']:.0f} s "
        f"→ {m['out']}/metrics.json"
    )
    return 0


def _regression_line(m: dict) -> str:
    """The resolutions of a regression metrics dict in one line (docs/training.md)."""
    parts = [f"mass σ68 {m['mass_resolution']:.4f} (tail {m['mass_tail_fraction']:.3f})"]
    if "energy_resolution" in m:
        parts += [f"E σ68 {m['energy_resolution']:.4f}", f"pT σ68 {m['pt_resolution']:.4f}"]
        parts.append(f"ΔR median {m['delta_r_median']:.4f}")
    return ", ".join(parts) + f" on {m['jets']} top jets"


DEFAULT_CHECKPOINT = "lgn_default.pt"
# Peak memory of `clariant validate`: the sweep streams jets in chunks of clariant.validate.measures.JET_CHUNK, and
# the report's attribution and property checks use the first 256 jets, so the peak is flat in --jets (measured
# 1.25 GB at 256 and 1.24 GB at 1024 jets, float64 + companion float32); what grows is the per-jet errors and floors
# (T numbers per dtype) and the jets themselves (≤ 200 × 4 float64) — 64 kB per jet bounds both.
_VALIDATE_BASE_BYTES = 3 << 29
_VALIDATE_BYTES_PER_JET = 64 << 10


_CLASSIFICATION_KEYS = ("accuracy", "auc", "rejection_at_0.3", "rejection_at_0.5")


def _validate(args) -> int:
    import torch
    from tqdm import tqdm

    from clariant.validate import report, report_folder
    from clariant_core.data import SAMPLE_DIR, JetFile
    from clariant_core.devices import resolve_device
    from clariant_core.network.heads import Task
    from clariant_core.numerics import DEFAULT_SWEEP, PRECISIONS
    from clariant_core.resources import check_memory
    from clariant_core.training import load_checkpoint
    from clariant_core.training.regression import CARD_KEYS

    # "all": the four storage dtypes; one precision: it, paired with float64 for the verdict
    dtypes = (
        DEFAULT_SWEEP if args.dtype == "all" else tuple(dict.fromkeys((PRECISIONS[args.dtype], PRECISIONS["float64"])))
    )
    device = resolve_device(args.device)
    ckpt_path = Path(args.checkpoint) if args.checkpoint else SAMPLE_DIR / DEFAULT_CHECKPOINT
    data = Path(args.data) if args.data else SAMPLE_DIR / "test.h5"
    # every check before the sweep: output folder, checkpoint, data, memory
    report_folder.check_out_dir(args.out)
    model, meta = load_checkpoint(ckpt_path, dtype=torch.float64)
    task = Task.parse(meta["config"].get("task", "classify"))
    if meta["config"].get("num_scalars"):
        raise ValueError(
            f"{ckpt_path}: the model takes {meta['config']['num_scalars']} per-particle scalars (particle "
            "information); clariant validate feeds momenta only — validate a model trained without --particle"
        )
    jets = JetFile(data)
    n = min(args.jets or DEFAULT_VALIDATE_JETS, len(jets))
    if n == 0:
        raise ValueError(f"{data}: no jets to validate on")
    if args.jets is not None and args.jets > n:
        print(f"note: --jets {args.jets}: {data} holds {n} jets; validating on all of them", file=sys.stderr)
    check_memory(
        _VALIDATE_BASE_BYTES + n * _VALIDATE_BYTES_PER_JET * len(dtypes) / 4,
        f"validate --jets {n} with {len(dtypes)} dtype(s)",
        hint=f"choose fewer --jets (about {_VALIDATE_BYTES_PER_JET / 2**10:.0f} kB per jet with 4 dtypes)",
    )
    batch = jets.read(0, n, dtype=torch.float64)
    width = int(batch.mask.sum(1).max())
    p, mask = batch.p[:, :width].contiguous(), batch.mask[:, :width].contiguous()
    # two bars: the sweep, in particles evaluated (its total known up front, refined once the floor has decided
    # its method; the rate-based ETA is honest because the unit tracks the cost), then the later stages one by one
    bars = {"sweep": tqdm(total=1, desc="Lorentz sweep", unit="particle", unit_scale=True)}
    stages = [*report.later_stages(model), "report"]

    def progress(done, total):
        bar = bars["sweep"]
        bar.total = total
        bar.update(done - bar.n)  # tqdm redraws at most every mininterval

    def step(name):
        if name == "judged":
            bars["sweep"].close()
            bars["checks"] = tqdm(total=len(stages), desc="other checks", unit="stage")
            bars["checks"].set_postfix_str(f"{stages[0]}…")
            return
        bars["checks"].update(1)
        bars["checks"].set_postfix_str(name)

    try:
        result = report.run(
            model,
            p,
            mask,
            dtypes=dtypes,
            max_rapidity=args.max_rapidity,
            rapidities=args.rapidities,
            axes=args.axes,
            progress=progress,
            step=step,
            out_rep=task.out_rep,
            device=device,
        )
        metrics = meta.get("test_metrics", {})
        # the report shows it as a table (nested mappings as "configuration › max_irrep" rows, metric keys in words)
        card = {
            "checkpoint": str(ckpt_path),
            "kind": meta.get("kind"),
            "task": f"{task.value} (output judged as {task.out_rep})",
            "parameters": sum(x.numel() for x in model.parameters()),
            "config": meta.get("config") or {},
            "trained on": meta.get("trained_on", "—"),
            # how much training the checkpoint had: its epoch (best.pt: the best validation epoch) and the cap on jets
            "training": _training_line(meta),
            "validated on": f"{data} (first {p.shape[0]} jets)",
            "evaluated on": str(device),
            # classification metrics, then a regression's (CARD_KEYS), on the test split; labelled by the report
            "test metrics": {k: metrics[k] for k in (*_CLASSIFICATION_KEYS, *CARD_KEYS) if k in metrics},
        }
        naive = {k: v for k, v in metrics.get("naive", {}).items() if k in CARD_KEYS}
        if naive:  # a regression's baseline on the same jets
            card["naive Σ constituents"] = naive
        bars["checks"].set_postfix_str("writing the report")
        index = report.write(result, args.out, model_card=card)
        step("report written")
    finally:  # on success, an error or Ctrl-C: end the bars' lines, so what follows stands on its own
        for bar in bars.values():
            bar.close()
    print(
        f"verdict {result['verdict']} ({', '.join(f'{k}: {v}' for k, v in result['by_dtype'].items())}): "
        f"{result['summary']}"
    )
    if result.get("skipped"):
        print("not measured: " + "; ".join(f"{k} ({why})" for k, why in result["skipped"].items()))
    if "properties" in result:
        print("beyond Lorentz: " + "; ".join(f"{k} {v['verdict']}" for k, v in result["properties"].items()))
    print(f"report: {index}")
    return exit_code(result["verdict"])


def _training_line(meta: dict) -> str:
    """'epoch 7 of at most 8, every training jet' from a checkpoint's metadata ('—' where it does not say)."""
    tc = meta.get("train_config") or {}
    if meta.get("epoch") is None:
        return "—"
    line = f"epoch {meta['epoch']}" + (f" of at most {tc['epochs']}" if tc.get("epochs") else "")
    cap = tc.get("max_train_jets")
    return line + (f", at most {cap} training jets" if cap else ", every training jet")


def exit_code(verdict) -> int:
    """`clariant validate`'s exit code for a Lorentz headline verdict (a `clariant.validate.Verdict` or its word):
    the gate passes only what it judged — BROKEN, NONFINITE and a headline with nothing resolved (UNRESOLVED) give 1,
    PASS and NUMERICAL 0 (docs/validation.md, "Verdicts"). A property verdict raises TypeError: it never gates this."""
    from clariant.validate.verdict import BROKEN, NONFINITE, UNRESOLVED, Verdict

    return 1 if Verdict.of(verdict) in (BROKEN, NONFINITE, UNRESOLVED) else 0


def _bench_compare(args) -> int:
    from clariant.validate.benchmarks import find_runs, format_html, format_markdown, format_table, load_run
    from clariant_core.atomic import write_text

    files = [Path(f) for f in args.files] or find_runs(args.dir)
    if not files:
        raise ValueError(f"no saved benchmark runs given or found under {args.dir} (use --benchmark-autosave)")
    runs = [load_run(f) for f in files]
    print(format_table(runs, args.stat))
    for path, fmt in ((args.markdown, format_markdown), (args.html, format_html)):
        if path:
            write_text(Path(path), fmt(runs, args.stat))
            print(f"written: {path}")
    return 0


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return v


def _boost_rapidities(text: str) -> tuple[float, ...]:
    values = _rapidities(text)
    if 0.0 in values:
        raise argparse.ArgumentTypeError(
            f"rapidities of a boost grid must be > 0 (rotations are measured anyway), got {text!r}"
        )
    return values


def _axes(text: str) -> tuple[str, ...]:
    axes = tuple(t.strip() for t in text.split(",") if t.strip())
    if not axes or set(axes) - {"x", "y", "z"}:
        raise argparse.ArgumentTypeError(f"axes must be a comma list of x, y, z, got {text!r}")
    return axes


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


class _Help(argparse.HelpFormatter):
    """Help that shows every option's default (when it has one worth showing)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if default is None or default is False or default is argparse.SUPPRESS or "default" in text:
            return text
        if not (action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE)):
            return text
        shown = ",".join(str(v) for v in default) if isinstance(default, tuple) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"


def _parser_class():
    class Parser(argparse.ArgumentParser):
        def __init__(self, *a, **k):
            k.setdefault("formatter_class", _Help)
            super().__init__(*a, **k)

    return Parser


def main(argv=None) -> int:
    from clariant_core.devices import DEVICE_CHOICES
    from clariant_core.numerics import PRECISIONS, TRAIN_DTYPES

    parser = argparse.ArgumentParser(prog="clariant", description=__doc__, formatter_class=_Help)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_parser_class())
    p = sub.add_parser("selfcheck", help="check the group library's precision and write reports/selfcheck/index.html")
    p.add_argument("--out", default="reports/selfcheck", help="report folder (validate's report lives in reports/)")
    p.add_argument(
        "--rapidities",
        type=_rapidities,
        default=(0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0),
        help="comma-separated boost rapidities to measure at",
    )
    p.add_argument("--max-label", type=int, default=2, choices=range(0, 5), help="irreps with k, n ≤ this")
    p.set_defaults(func=_selfcheck)

    data = sub.add_parser("data", help="top-tagging data: generate, inspect").add_subparsers(
        dest="data", required=True, parser_class=_parser_class()
    )
    g = data.add_parser("generate", help="generate jets with Pythia 8 + fastjet (extra: generate) in the public layout")
    g.add_argument("--out", required=True, help="folder for train.h5, val.h5, test.h5 and generation.json")
    g.add_argument("--jets", type=_positive_int, default=2000, help="total jets (even with --process both)")
    g.add_argument(
        "--process", choices=("both", "top", "qcd"), default="both", help="half top and half QCD, or one kind only"
    )
    g.add_argument("--seed", type=int, default=1, help="seed of the whole run (each chunk derives its own)")
    g.add_argument("--workers", type=_positive_int, default=1, help="worker processes")
    g.add_argument("--chunk-size", type=_positive_int, default=100, help="jets per work unit (one Pythia seed each)")
    g.add_argument("--val-fraction", type=float, default=0.15, help="fraction of the jets in val.h5")
    g.add_argument("--test-fraction", type=float, default=0.15, help="fraction of the jets in test.h5")
    g.add_argument("--overwrite", action="store_true", help="replace existing files")
    g.set_defaults(func=_data_generate)
    i = data.add_parser("inspect", help="summary of a file: multiplicity, jet mass per class")
    i.add_argument("file", help="an HDF5 file in either layout (docs/data.md)")
    i.add_argument("--max-jets", type=_positive_int, default=None, help="read at most this many jets (default: all)")
    i.add_argument("--plot", default=None, help="write a PNG of the mass and multiplicity distributions")
    i.set_defaults(func=_data_inspect)

    t = sub.add_parser(
        "train", help="train the LGN (or the PFN baseline) on top tagging; torchrun for several processes"
    )
    t.add_argument("--data", default=None, help="folder with train.h5/val.h5/test.h5 (default: the embedded sample)")
    t.add_argument(
        "--out", default=None, help="run folder: best.pt, last.pt, metrics.json (default: a new runs/<model>-<time>)"
    )
    mode = t.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    mode.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    t.add_argument(
        "--stop-after", type=_positive_int, default=None, help="end after this many epochs, leaving a resumable run"
    )
    t.add_argument("--model", choices=("lgn", "pfn"), default="lgn", help="the LGN or the Particle-Flow baseline")
    t.add_argument(
        "--model-config", default=None, help="JSON overrides, e.g. '{\"channels\": [2, 4, 4, 2]}' (default: none)"
    )
    t.add_argument("--epochs", type=_positive_int, default=10, help="maximum number of epochs")
    t.add_argument("--batch-size", type=_positive_int, default=64, help="jets per training batch")
    t.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW, warm-up then cosine decay)")
    t.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    t.add_argument("--patience", type=_positive_int, default=4, help="early stopping: epochs without improvement")
    t.add_argument("--seed", type=int, default=0, help="seed of weights, batch order and dropout")
    t.add_argument("--dtype", choices=tuple(TRAIN_DTYPES), default="float32", help="precision of the model")
    t.add_argument("--device", default="auto", help=f"where to train: {DEVICE_CHOICES} (auto: CUDA when present)")
    t.add_argument(
        "--max-train-jets", type=_positive_int, default=None, help="train on the first N jets (default: all)"
    )
    t.add_argument("--threads", type=_positive_int, default=None, help="torch threads per process (default: torch's)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument(
        "--task",
        choices=("classify", "mass", "momentum"),
        default="classify",
        help="top tagging, the top's invariant mass, or its four-momentum (regressions use the top jets' truth)",
    )
    t.add_argument(
        "--particle",
        nargs="*",
        choices=("charge", "pid"),
        default=[],
        help="particle-information fields fed to the model as per-particle scalars (docs/data.md)",
    )
    t.set_defaults(func=_train)

    v = sub.add_parser("validate", help="validate the default LGN (or a checkpoint) and write reports/index.html")
    v.add_argument("--checkpoint", default=None, help="a clariant checkpoint (default: the shipped default LGN)")
    v.add_argument("--data", default=None, help="jets to validate on (default: the embedded sample's test split)")
    v.add_argument("--jets", type=_positive_int, default=None, help=f"number of jets (default {DEFAULT_VALIDATE_JETS})")
    v.add_argument(
        "--dtype",
        choices=("all", *PRECISIONS),
        default="all",
        help="precision(s) to measure: all (float64, float32, bfloat16, float16) or one dtype or mode (tf32, "
        "autocast-bf16, autocast-fp16: docs/devices.md), paired with float64 for the verdict",
    )
    v.add_argument(
        "--device", default="auto", help=f"where to evaluate the model: {DEVICE_CHOICES} (auto: CUDA when present)"
    )
    v.add_argument("--max-rapidity", type=_positive_float, default=6.0, help="boosts at 10 rapidities up to this")
    v.add_argument(
        "--rapidities", type=_boost_rapidities, default=None, help="boost at these rapidities instead, e.g. 0.5,1,2,4,6"
    )
    v.add_argument("--axes", type=_axes, default=("x", "y", "z"), help="boost axes, e.g. x,z")
    v.add_argument("--out", default="reports", help="report folder")
    v.set_defaults(func=_validate)

    bench = sub.add_parser("bench", help="benchmark utilities").add_subparsers(
        dest="bench", required=True, parser_class=_parser_class()
    )
    bc = bench.add_parser("compare", help="saved pytest-benchmark runs side by side, with ratios")
    bc.add_argument("files", nargs="*", help="result JSON files (default: every run under --dir)")
    bc.add_argument("--dir", default=".benchmarks", help="where pytest-benchmark saved its runs")
    bc.add_argument("--stat", default="median", choices=("min", "median", "mean"), help="which timing to compare")
    bc.add_argument("--markdown", default=None, metavar="FILE", help="also write the table as markdown to FILE")
    bc.add_argument("--html", default=None, metavar="FILE", help="also write the table as an HTML page to FILE")
    bc.set_defaults(func=_bench_compare)

    args = parser.parse_args(argv)
    if args.command == "validate":
        if not (0 < args.max_rapidity <= MAX_VALIDATE_RAPIDITY):
            v.error(f"--max-rapidity must be in (0, {MAX_VALIDATE_RAPIDITY:g}], got {args.max_rapidity}")
        if args.rapidities and max(args.rapidities) > MAX_VALIDATE_RAPIDITY:
            v.error(
                f"--rapidities must be at most {MAX_VALIDATE_RAPIDITY:g} (boosted momenta grow like e^y: beyond it "
                f"they leave float32's range), got {max(args.rapidities):g}"
            )
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except MissingExtra as e:
        print(f"clariant: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:  # bad input or an unusable location: one line, no traceback
        print(f"clariant: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        resume, run = "", getattr(e, "run_dir", None)
        if run is not None and (Path(run) / "last.pt").exists():
            resume = f"; continue the run from its last finished epoch with: clariant train --resume --out {run} …"
        elif run is not None:
            resume = f"; no epoch of {run} had finished, so there is nothing to resume: start it again"
        print(
            "clariant: interrupted — every file is written to a temporary name and renamed into place, so nothing "
            f"was left half-written{resume}",
            file=sys.stderr,
        )
        return 130


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


if __name__ == "__main__":
    sys.exit(main())
