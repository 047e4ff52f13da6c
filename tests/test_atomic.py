"""Atomic writing: a file or a folder appears complete or not at all."""

import os
from pathlib import Path

import pytest

from clariant_core.atomic import atomic_file, check_writable_folder, publish_folder, write_text


def test_file_is_replaced_whole_or_not_at_all(tmp_path):
    path = write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), atomic_file(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed while writing")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    with pytest.raises(FileExistsError, match="exists"):
        write_text(path, "new", overwrite=False)
    write_text(path, "new")
    assert path.read_text() == "new"
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        write_text(tmp_path / "d", "x")


def test_folder_is_swapped_as_one_unit(tmp_path):
    out = tmp_path / "report"
    with publish_folder(out) as tmp:
        (tmp / "report.json").write_text("1")
        (tmp / "a.png").write_text("1")
    with pytest.raises(RuntimeError), publish_folder(out) as tmp:
        (tmp / "report.json").write_text("2")
        raise RuntimeError("killed while plotting")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"report.json": "1", "a.png": "1"}
    with publish_folder(out) as tmp:
        (tmp / "report.json").write_text("3")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"report.json": "3"}  # no stale plot of run 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_unwritable_locations_fail_before_work(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        check_writable_folder(tmp_path / "file")
    with pytest.raises(NotADirectoryError, match="is a file"):
        check_writable_folder(tmp_path / "file" / "sub")
    if os.geteuid() != 0:  # root writes anywhere (a read-only mount is refused the same way)
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match="not writable"):
                check_writable_folder(ro / "out")
        finally:
            ro.chmod(0o700)


def test_kept_files_survive_the_swap(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "README.md").write_text("about this folder")
    (out / "old.png").write_text("run 1")
    with publish_folder(out, keep=lambda f: f.suffix == ".md") as tmp:
        (tmp / "report.json").write_text("2")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"README.md": "about this folder", "report.json": "2"}


def test_kept_folders_move_whole_and_a_failed_move_loses_nothing(tmp_path, monkeypatch):
    out = tmp_path / "report"
    (out / "a").mkdir(parents=True)
    (out / "b").mkdir()
    (out / "a" / "x.txt").write_text("a's")
    (out / "b" / "y.txt").write_text("b's")
    (out / "old.png").write_text("run 1")
    with publish_folder(out, keep=lambda f: f.is_dir()) as tmp:
        (tmp / "new.png").write_text("run 2")
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "new.png"] and (out / "a" / "x.txt").exists()
    real = os.rename

    def refuse_b(src, dst):  # a folder that cannot be moved (read-only, another mount)
        if Path(src).name == "b" and Path(src).parent == out:
            raise PermissionError(13, "Permission denied")
        return real(src, dst)

    monkeypatch.setattr(os, "rename", refuse_b)
    with pytest.raises(OSError, match=r"b cannot be carried over into the new report \(Permission denied\)"):
        with publish_folder(out, keep=lambda f: f.is_dir()) as tmp:
            (tmp / "newer.png").write_text("run 3")
    monkeypatch.undo()
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "new.png"]  # as it was: nothing swapped or lost
    assert (out / "a" / "x.txt").read_text() == "a's" and (out / "b" / "y.txt").read_text() == "b's"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_leftover_temporary_of_the_same_process_is_never_deleted(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    leftover = tmp_path / f".report.{os.getpid()}.new"  # what an interrupted earlier call left, maybe holding a folder
    (leftover / "kept").mkdir(parents=True)
    with publish_folder(out) as tmp:
        assert tmp != leftover
        (tmp / "index.html").write_text("new")
    assert (leftover / "kept").is_dir() and (out / "index.html").exists()
