"""No run loses a user's work, and bad runs fail before training: overwrite/resume, splits, checkpoints, sizes."""

import json
import shutil

import numpy as np
import pytest
import torch

from clariant import cli
from clariant_core.data import SAMPLE_DIR, DataFormatError, JetFile, write_h5py_layout, write_public_layout
from clariant_core.resources import ResourceError
from clariant_core.training import (
    TrainConfig,
    default_run_dir,
    load_checkpoint,
    make_model,
    save_checkpoint,
    train,
)

QUICK = dict(data=str(SAMPLE_DIR), model="pfn", batch_size=64, max_train_jets=192, progress=False, threads=1)


def test_an_existing_run_is_never_replaced_unasked(tmp_path, capsys):
    out = tmp_path / "run"
    train(TrainConfig(out=str(out), epochs=1, **QUICK))
    before = (out / "best.pt").read_bytes()
    with pytest.raises(FileExistsError, match=r"already holds a run \(best.pt from epoch 1\).*--overwrite"):
        train(TrainConfig(out=str(out), epochs=1, seed=5, **QUICK))
    assert (out / "best.pt").read_bytes() == before
    args = ["train", "--out", str(out), "--model", "pfn", "--epochs", "1", "--max-train-jets", "64", "--quiet"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("clariant: error: ") and "--overwrite" in err and err.count("\n") == 1
    assert (out / "best.pt").read_bytes() == before
    m = train(TrainConfig(out=str(out), epochs=1, seed=5, overwrite=True, **QUICK))
    assert m["finished"] and (out / "best.pt").read_bytes() != before


def test_resume_continues_bitwise(tmp_path):
    """3 epochs in one go equal 1 epoch, stop, then resume for the remaining 2 — weights and history, bitwise."""
    straight = train(TrainConfig(out=str(tmp_path / "a"), epochs=3, patience=10, **QUICK))
    part = train(TrainConfig(out=str(tmp_path / "b"), epochs=3, patience=10, stop_after=1, **QUICK))
    assert part == {"out": str(tmp_path / "b"), "epoch": 1, "finished": False}
    assert not (tmp_path / "b" / "metrics.json").exists()
    with pytest.raises(ValueError, match="lr is 0.01 but the run .* was started with 0.003"):
        train(TrainConfig(out=str(tmp_path / "b"), epochs=3, patience=10, resume=True, lr=1e-2, **QUICK))
    resumed = train(TrainConfig(out=str(tmp_path / "b"), epochs=3, patience=10, resume=True, **QUICK))
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in straight["history"]]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed["history"]] == strip
    a, _ = load_checkpoint(tmp_path / "a" / "best.pt")
    b, _ = load_checkpoint(tmp_path / "b" / "best.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert resumed["auc"] == straight["auc"]
    with pytest.raises(ValueError, match="already finished"):
        train(TrainConfig(out=str(tmp_path / "b"), epochs=3, patience=10, resume=True, **QUICK))
    with pytest.raises(FileNotFoundError, match="no last.pt"):
        train(TrainConfig(out=str(tmp_path / "c"), epochs=1, resume=True, **QUICK))


def test_default_run_folder_is_new(tmp_path):
    a = default_run_dir("lgn", tmp_path)
    a.mkdir()
    b = default_run_dir("lgn", tmp_path)
    assert a != b and not b.exists() and b.name.startswith(a.name)


def _split_folder(tmp_path, **replace):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name in ("train", "val", "test"):
        if name in replace:
            p, label = replace[name]
            (write_public_layout if len(label) else write_h5py_layout)(data / f"{name}.h5", p, label)
        else:
            shutil.copyfile(SAMPLE_DIR / f"{name}.h5", data / f"{name}.h5")
    return data


def _jets(n, label):
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 600)
    idx = torch.nonzero(b.label == label)[:n, 0]
    return b.p[idx].numpy(), np.full(len(idx), label)


@pytest.mark.parametrize(
    "split,content,match",
    [
        ("train", (np.zeros((0, 200, 4)), np.zeros(0)), "the train split holds no jets"),
        ("val", _jets(20, 1), "the val split holds 0 QCD and 20 top jets"),
        ("test", _jets(20, 0), "the test split holds 20 QCD and 0 top jets"),
    ],
)
def test_empty_and_one_class_splits_fail_before_training(tmp_path, capsys, split, content, match):
    data = _split_folder(tmp_path, **{split: content})
    with pytest.raises(DataFormatError, match=match):
        train(TrainConfig(out=str(tmp_path / "run"), epochs=1, **{**QUICK, "data": str(data)}))
    assert not (tmp_path / "run").exists()  # nothing written: it failed before training
    assert cli.main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert f"{split}.h5" in capsys.readouterr().err


def test_unwritable_out_fails_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert cli.main(["train", "--out", str(tmp_path / "file"), "--model", "pfn", "--quiet"]) == 2
    assert "is a file" in capsys.readouterr().err


def _payload(tmp_path, **change):
    path = save_checkpoint(tmp_path / "ok.pt", make_model("pfn"), "pfn")
    ckpt = torch.load(path, weights_only=True)
    for k, v in change.items():
        if v is None:
            del ckpt[k]
        else:
            ckpt[k] = v
    torch.save(ckpt, tmp_path / "bad.pt")
    return tmp_path / "bad.pt"


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(kind="transformer"), "unknown model kind 'transformer'"),
        (dict(kind="lgn", config={}), "weights are not those of the LGN"),
        (dict(config={"phi_hidden": 48, "depth": 3}), r"unknown pfn config key\(s\) \['depth'\]"),
        (dict(config={"phi_hidden": 12}), r"weight phi.0.weight is torch.float32 \(48, 7\), expected .* \(12, 7\)"),
        (dict(dtype="int8"), "checkpoint dtype 'int8'"),
        (dict(state_dict=None), r"checkpoint lacks \['state_dict'\]"),
        (dict(config="big"), "must be a JSON object"),
    ],
)
def test_bad_checkpoints_are_refused_with_a_reason(tmp_path, capsys, change, match):
    bad = _payload(tmp_path, **change)
    with pytest.raises(ValueError, match=match):
        load_checkpoint(bad)
    assert cli.main(["validate", "--checkpoint", str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err and not (tmp_path / "r").exists()


def test_nan_weights_are_refused(tmp_path):
    net = make_model("pfn")
    with torch.no_grad():
        net.f[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="f.0.weight contains NaN"):
        load_checkpoint(save_checkpoint(tmp_path / "nan.pt", net, "pfn"))


def test_model_size_is_checked_before_allocating():
    with pytest.raises(ResourceError, match="more than this machine can hold"):
        make_model("lgn", {"channels": [2, 20_000, 20_000, 2]})
    with pytest.raises(ResourceError, match="more than this machine can hold"):
        make_model("pfn", {"phi_hidden": 10**7})
    with pytest.raises(ValueError, match="bad lgn config"):
        make_model("lgn", {"channels": 5})


def test_model_config_json_errors_exit_2(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert cli.main(["train", "--out", out, "--model-config", '{"chanels": [2, 4]}', "--quiet"]) == 2
    assert "unknown lgn config key(s) ['chanels']" in capsys.readouterr().err
    assert cli.main(["train", "--out", out, "--model-config", "[1, 2]", "--quiet"]) == 2
    assert "JSON object" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_metrics_record_the_run_folder(tmp_path):
    m = train(TrainConfig(out=str(tmp_path / "r"), epochs=1, **QUICK))
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["out"] == str(tmp_path / "r")
    assert m["finished"] and (tmp_path / "r" / "last.pt").exists()


# --- report folders: what a previous report wrote is replaced, nothing else is lost ------------------------------
def _tiny_result(properties=False):
    from clariant.validate import report
    from clariant.validate.strategies import random_jets

    def mass2(p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1) / 100
        return (total[:, :1] ** 2 - (total[:, 1:] ** 2).sum(1, keepdim=True)) / 10

    p, mask = random_jets(4, 6, seed=0, min_particles=2)
    kw = dict(dtypes=(torch.float64,), n_rapidities=1, n_angles=1, groups=(), properties=properties)
    return report.run(mass2, p, mask, **kw)


def test_a_report_folder_holding_the_users_files_is_refused_before_the_work(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    mine = {"results_2024.json": "{}", "paper.html": "<p>draft</p>", "my_figure.png": "png", "notes.txt": "n"}
    for name, text in mine.items():
        (out / name).write_text(text)
    assert cli.main(["validate", "--jets", "4", "--dtype", "float64", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds my_figure.png, paper.html, results_2024.json, which no previous report wrote" in err
    assert {f.name: f.read_text() for f in out.iterdir()} == mine


def test_a_previous_report_is_replaced_and_every_other_file_kept(tmp_path):
    from clariant.validate import report, report_folder

    result, out = _tiny_result(), tmp_path / "out"
    report.write(result, out)
    written = {f.name for f in out.iterdir()}
    assert {"index.html", "report.json", report_folder.MANIFEST} <= written
    (out / "notes.txt").write_text("mine")
    (out / "draft.tmp").write_text("mine too")
    report.write(result, out)
    assert (out / "notes.txt").read_text() == "mine" and (out / "draft.tmp").read_text() == "mine too"
    assert {f.name for f in out.iterdir()} == written | {"notes.txt", "draft.tmp"}
    # a manifest that lists a user's file (edited by hand, or stale) cannot make it replaceable
    manifest = json.loads((out / report_folder.MANIFEST).read_text())
    (out / report_folder.MANIFEST).write_text(json.dumps({**manifest, "entries": [*manifest["entries"], "notes.txt"]}))
    report.write(result, out)
    assert (out / "notes.txt").read_text() == "mine"
    # a report written before manifests existed is recognised by its content
    (out / report_folder.MANIFEST).unlink()
    assert report_folder.check_out_dir(out) == out.resolve()
    report.write(result, out)
    assert (out / "notes.txt").exists() and (out / report_folder.MANIFEST).exists()


def test_report_locations_through_links_and_odd_names(tmp_path, monkeypatch):
    from clariant.validate import report, report_folder

    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    index = report.write(_tiny_result(), link)
    assert link.is_symlink() and (real / "index.html").exists() and index == real / "index.html"
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no leftover temporaries
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="symbolic link to .*nowhere, which does not exist"):
        report_folder.check_out_dir(dangling)
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "src").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    with pytest.raises(OSError, match=r"is the current directory or holds it"):
        report_folder.check_out_dir(".")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileExistsError, match=r"holds src/, which no previous report wrote"):
        report_folder.check_out_dir("project")


def test_what_a_previous_report_did_not_write_is_never_dropped(tmp_path):
    import os
    import stat

    from clariant.validate import report, report_folder

    result, out = _tiny_result(), tmp_path / "out"
    report.write(result, out)
    os.chmod(out, 0o700)
    report.write(result, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700  # the folder keeps its permissions
    # beside the report: a link to nowhere, a pipe — refused, not silently dropped
    (out / "thesis-link").symlink_to(tmp_path / "usb" / "thesis.tex")
    with pytest.raises(FileExistsError, match=r"thesis-link \(a link or special file\)"):
        report_folder.check_out_dir(out)
    (out / "thesis-link").unlink()
    os.mkfifo(out / "pipe")
    with pytest.raises(FileExistsError, match=r"pipe \(a link or special file\)"):
        report_folder.check_out_dir(out)
    (out / "pipe").unlink()
    # a manifest listing a folder of the user's: its contents are not a report's, so it is refused
    (out / "data").mkdir()
    (out / "data" / "run1.csv").write_text("1,2")
    manifest = json.loads((out / report_folder.MANIFEST).read_text())
    (out / report_folder.MANIFEST).write_text(json.dumps({**manifest, "entries": [*manifest["entries"], "data"]}))
    with pytest.raises(FileExistsError, match=r"holds data/run1.csv"):
        report_folder.check_out_dir(out)
    assert report_folder.check_out_dir(out, collection=True)  # a collection replaces its model folders one by one
    shutil.rmtree(out / "data")
    # a manifest that is not JSON is still the report's own file, refused or replaced, never a late collision
    (out / report_folder.MANIFEST).write_text("{not json")
    report.write(result, out)
    assert json.loads((out / report_folder.MANIFEST).read_text())["written_by"] == "clariant"
    # a report from before manifests: a PNG that only the (user-edited) page shows is the user's
    (out / report_folder.MANIFEST).unlink()
    (out / "my_plot.png").write_bytes(b"\x89PNG mine")
    page = (out / "index.html").read_text()
    (out / "index.html").write_text(page.replace("</body>", "<img src='my_plot.png'></body>"))
    with pytest.raises(FileExistsError, match=r"holds my_plot.png"):
        report_folder.check_out_dir(out)


def test_a_kept_file_is_never_dropped_for_a_new_file_of_its_name(tmp_path):
    from clariant_core.atomic import publish_folder

    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.txt").write_text("old")
    with pytest.raises(FileExistsError, match="a.txt is not part of what is being replaced"):
        with publish_folder(folder, keep=lambda f: True) as tmp:
            (tmp / "a.txt").write_text("new")
    assert (folder / "a.txt").read_text() == "old" and [f.name for f in tmp_path.iterdir()] == ["f"]


def test_reports_and_collections_from_before_manifests_are_recognised(tmp_path):
    from clariant.validate import report, report_folder

    out = tmp_path / "old"
    report.write(_tiny_result(properties=True), out)
    assert any(f.name.startswith("properties_") for f in out.iterdir())
    (out / report_folder.MANIFEST).unlink()  # as an older version wrote it
    assert report_folder.check_out_dir(out) == out.resolve()
    # the plugin's collection of two models, without manifests, and a run killed while building a model's folder
    coll = tmp_path / "coll"
    for name in ("A", "B"):
        report.write(_tiny_result(), coll / name)
        (coll / name / report_folder.MANIFEST).unlink()
    (coll / "index.html").write_text(
        "<h1>Lorentz reports</h1><ul><li><a href='A/index.html'>A</a></li><li><a href='B/index.html'>B</a></li></ul>"
    )
    (coll / ".A.4242.new").mkdir()
    assert report_folder.check_out_dir(coll, collection=True) == coll.resolve()
    (coll / "C").mkdir()  # a folder no report wrote is still refused
    with pytest.raises(FileExistsError, match=r"holds C/"):
        report_folder.check_out_dir(coll, collection=True)


def test_selfcheck_and_validate_reports_share_a_folder_and_lose_nothing(tmp_path, monkeypatch, capsys):
    """The defaults nest selfcheck's report (reports/selfcheck) in validate's (reports/): each writes its own, and
    selfcheck obeys the same folder rules — a user's page is refused before any measurement, a file named clearly."""
    from clariant import cli
    from clariant.validate import report

    monkeypatch.chdir(tmp_path)
    check = ["selfcheck", "--rapidities", "0,1", "--max-label", "1"]
    for _ in range(2):  # both ways round, twice
        assert cli.main(check) == 0
        report.write(_tiny_result(), "reports")
    assert (tmp_path / "reports" / "index.html").exists()
    assert (tmp_path / "reports" / "selfcheck" / "group_precision.png").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("my page")
    capsys.readouterr()
    assert cli.main([*check, "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "index.html" in err and err.count("\n") == 1 and (mine / "index.html").read_text() == "my page"
    (tmp_path / "afile").write_text("x")
    assert cli.main([*check, "--out", "afile"]) == 2
    assert "is a file" in capsys.readouterr().err
