"""Atomic writing: a file or a folder appears complete or not at all."""

import os

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
