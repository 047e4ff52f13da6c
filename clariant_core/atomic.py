"""Atomic writing: a file or a whole folder appears complete or not at all, never half-written or mixed.

A file is written to a temporary sibling (same folder, so the rename stays on one file system), flushed to disk and
renamed over the target (`os.replace` is atomic on POSIX and Windows). A folder (a report: JSON, HTML and plots that
belong together) is built in a temporary sibling folder and then swapped with the old one in one step where the
kernel offers it (Linux `renameat2(RENAME_EXCHANGE)`), otherwise by two renames — so a reader sees the old folder or
the new one, never a mix of two runs, and a crash leaves at most a hidden temporary folder beside it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["atomic_file", "check_writable_folder", "publish_folder", "write_bytes", "write_text"]


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{tag}")


def _fresh_sibling(path: Path, tag: str) -> Path:
    """A sibling name no entry has yet: `.name.<pid>.<tag>`, or `.name.<pid><k>.<tag>` when that one exists (a
    leftover of an interrupted run in the same process is never reused, so never deleted)."""
    out, k = _sibling(path, tag), 0
    while out.exists() or out.is_symlink():
        k += 1
        out = path.with_name(f".{path.name}.{os.getpid()}{k}.{tag}")
    return out


@contextlib.contextmanager
def atomic_file(path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling path to write to; on success it is renamed over `path`, on error removed.

    The parent folder is created. With `overwrite=False` an existing `path` raises FileExistsError before anything is
    written. A `path` that is a folder raises IsADirectoryError before anything is written.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a file; remove it or choose another name")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    try:
        yield tmp
        with contextlib.suppress(OSError), open(tmp, "rb") as f:  # flush to disk before the rename
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path, data: bytes, *, overwrite: bool = True) -> Path:
    """Write `data` to `path` atomically; returns `path`."""
    with atomic_file(path, overwrite=overwrite) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def write_text(path, text: str, *, overwrite: bool = True) -> Path:
    """Write UTF-8 `text` to `path` atomically; returns `path`."""
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def check_writable_folder(folder) -> Path:
    """Fail early (before any expensive work) if `folder` cannot receive output: it is a file, a parent is a file, or
    the nearest existing ancestor is not writable. Creates nothing. (Whether an existing folder's files may be
    replaced is the caller's question: validate/report_folder.py for reports, training/runs.py for runs.)"""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"output location {folder} is a file, not a folder")
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise NotADirectoryError(f"output location {folder}: {probe} is a file, not a folder")
    # the folder itself (if it exists) and its parent (for the temporary sibling and the swap) must be writable
    for p in {probe, folder.parent if folder.exists() else probe}:
        if p.exists() and not _can_create_in(p):
            raise PermissionError(f"output location {folder}: {p} is not writable")
    return folder


def _can_create_in(folder: Path) -> bool:
    """Try it: permissions bits say nothing for root or a read-only mount."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".clariant-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


@contextlib.contextmanager
def publish_folder(folder, *, keep: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield an empty temporary sibling folder to build into; on success it replaces `folder` as one unit (the old
    folder, if any, is removed after the swap), on error it is removed and `folder` is left as it was.

    keep: entries of the old folder for which keep(path) is true are carried into the new one — files (hard-linked,
    else copied), e.g. a README beside a report, and folders (e.g. another report's), moved in whole just before the
    swap. A folder that cannot be moved, or a kept entry whose name the new contents also hold, is refused before
    anything is swapped, with every folder moved so far moved back. The temporary's name is new for every call
    (never a leftover of an earlier run, which is never deleted here)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh_sibling(folder, "new")
    tmp.mkdir()
    moved: list[str] = []  # kept folders now inside `tmp`, to move back if the swap does not happen
    swapped = False
    try:
        yield tmp
        if keep is not None and folder.is_dir():
            os.chmod(tmp, stat.S_IMODE(folder.stat().st_mode))  # the folder keeps its permissions
            entries = [f for f in folder.iterdir() if not f.is_symlink() and (f.is_file() or f.is_dir()) and keep(f)]
            for f in entries:  # never drop what the caller asked to keep: leave the folder as it was
                if (tmp / f.name).exists():
                    raise FileExistsError(
                        f"{f} is not part of what is being replaced, and the new contents hold an entry of that name: "
                        "move it, or choose another folder"
                    )
            for f in entries:
                if f.is_file():
                    try:
                        os.link(f, tmp / f.name)
                    except OSError:
                        shutil.copy2(f, tmp / f.name)
            for f in entries:
                if f.is_dir():
                    try:
                        os.rename(f, tmp / f.name)  # one rename within the file system: moved whole, never copied
                    except OSError as e:
                        why = f"{f} cannot be carried over into the new report ({e.strerror}): move it"
                        raise OSError(why) from None
                    moved.append(f.name)
        if folder.exists():
            previous = _fresh_sibling(folder, "old")
            if _exchange(tmp, folder):
                previous = tmp
            else:
                os.replace(folder, previous)
                os.replace(tmp, folder)
            swapped = True
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(tmp, folder)
            swapped = True
    finally:
        if not swapped:
            for name in moved:  # back where they were; a folder that cannot go back stays in `tmp`, kept
                try:
                    os.rename(tmp / name, folder / name)
                except OSError:
                    pass
            if not any((tmp / name).exists() for name in moved):
                shutil.rmtree(tmp, ignore_errors=True)
