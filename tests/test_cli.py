"""The `clariant` command line: selfcheck, help texts, missing optional extras."""

import struct

import pytest

from clariant import cli, selfcheck


def test_selfcheck_writes_report(tmp_path, capsys):
    assert cli.main(["selfcheck", "--out", str(tmp_path), "--rapidities", "0,3", "--max-label", "1"]) == 0
    index = tmp_path / "index.html"
    png = tmp_path / "group_precision.png"
    assert index.exists() and png.exists()
    with png.open("rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width > 500 and height > 200
    page = index.read_text(encoding="utf-8")
    assert "src='group_precision.png'" in page
    rows = selfcheck.measure(rapidities=(3.0,), max_label=1)
    # the table holds the measured numbers (deterministic inputs → identical values)
    assert f"{rows[-1].cg_error:.3g}" in page
    assert "report:" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["a,b", "1,nan", "-1", "25"])
def test_selfcheck_rejects_bad_rapidities(bad, capsys):
    with pytest.raises(SystemExit):
        cli.main(["selfcheck", "--rapidities", bad])
    assert "rapidities" in capsys.readouterr().err


def _subparsers(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in _subparsers(sub))


def test_every_option_has_help_and_shows_its_default(monkeypatch, capsys):
    """Each option of each command says what it does; each with a default says it in --help."""
    import argparse

    captured = {}
    real = argparse.ArgumentParser.parse_args

    def keep(self, *a, **k):
        captured["parser"] = self
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", keep)
    with pytest.raises(SystemExit):
        cli.main(["validate"])
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", real)
    commands = dict(_subparsers(captured["parser"]))
    assert {"selfcheck", "data generate", "data inspect", "train", "validate", "bench compare"} <= set(commands)
    for name, parser in commands.items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest == "help":
                continue
            assert action.help, f"clariant {name}: {action.option_strings or action.dest} has no help"
        shown = parser._get_formatter()._get_help_string
        for action in parser._actions:
            d = action.default
            if action.option_strings and d is not None and d is not False and d is not argparse.SUPPRESS:
                assert "default" in shown(action), f"clariant {name} {action.option_strings}: default not shown"


def test_missing_generate_extra_is_one_clear_line_before_any_work(tmp_path):
    """Without pythia8mc (hidden from this interpreter), `data generate` names the extra and how to install it."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pythia8mc'] = None\n"
        "from clariant.cli import main\n"
        f"sys.exit(main(['data', 'generate', '--out', {str(tmp_path / 'gen')!r}, '--jets', '10']))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "needs the 'generate' extra" in r.stderr and "pip install" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "gen").exists()


def test_validate_rapidities_are_bounded_like_max_rapidity(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["validate", "--rapidities", "1,20"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "clariant validate: error: --rapidities must be at most 12" in err and "Traceback" not in err


def test_validate_says_on_the_console_which_precisions_it_could_not_measure(tmp_path, capsys):
    args = ["validate", "--dtype", "tf32", "--jets", "4", "--rapidities", "1", "--axes", "z", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "not measured: tf32 (" in out and "CUDA" in out


def test_ctrl_c_ends_validate_with_one_line_and_leaves_nothing_half_written(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out, log = tmp_path / "work" / "report", tmp_path / "stderr.txt"
    out.parent.mkdir()
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "clariant.cli", "validate", "--jets", "64", "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            # as from a terminal: a test runner started in the background passes SIGINT on as ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.time() + 120
        while "Lorentz sweep" not in log.read_text() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)  # until the sweep's progress bar shows: the work has started
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    err = log.read_text()
    assert proc.returncode == 130, err
    assert "clariant: interrupted" in err and "Traceback" not in err
    assert list(out.parent.iterdir()) == []  # no report, no temporary


def test_data_inspect_names_the_plot_it_wrote(tmp_path, capsys):
    import json

    from clariant_core.data import SAMPLE_DIR

    for given, written in (("plot", "plot.png"), ("fig.png", "fig.png"), ("fig.pdf", "fig.pdf.png")):
        assert cli.main(["data", "inspect", str(SAMPLE_DIR / "val.h5"), "--plot", str(tmp_path / given)]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["plot"] == str(tmp_path / written) and (tmp_path / written).read_bytes()[:4] == b"\x89PNG"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["fig.pdf.png", "fig.png", "plot.png"]


def test_ctrl_c_in_training_says_whether_the_run_can_resume(tmp_path, capsys, monkeypatch):
    from clariant_core.training import loop

    real, calls = loop._train_epoch, []

    def interrupted_in_second_epoch(run, epoch, *a):
        calls.append(epoch)
        if len(calls) == 2 or epoch == 0 and "first" in str(run.out):
            raise KeyboardInterrupt
        return real(run, epoch, *a)

    monkeypatch.setattr(loop, "_train_epoch", interrupted_in_second_epoch)
    base = ["train", "--epochs", "3", "--max-train-jets", "64", "--quiet"]
    assert cli.main([*base, "--out", str(tmp_path / "first")]) == 130
    assert "nothing to resume: start it again" in capsys.readouterr().err
    calls.clear()
    assert cli.main([*base, "--out", str(tmp_path / "later")]) == 130
    err = capsys.readouterr().err
    assert f"clariant train --resume --out {tmp_path / 'later'}" in err and "Traceback" not in err
    assert cli.main([*base, "--resume", "--out", str(tmp_path / "first")]) == 2
    assert "start the run without --resume" in capsys.readouterr().err
