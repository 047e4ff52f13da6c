"""What a report folder holds, and whether a report may be written there without losing anything
(docs/security.md, "Your work is not lost").

A report lists what it wrote in `MANIFEST`; the next report replaces exactly those entries and keeps every other file.
Reports written before manifests are recognised by their `report.json` (a plugin collection by its index page).
`check_out_dir` refuses, before any work, a folder holding anything a report would overwrite or drop.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from clariant_core.atomic import check_writable_folder, write_text

_REPORT_SUFFIXES = (".json", ".html", ".png")
#: written last into every report folder: the entries the report wrote (the next report replaces exactly these)
MANIFEST = ".clariant-report"


def report_entries(folder: Path) -> set[str]:
    """The entries of `folder` that a previous report (or report collection) wrote: those its manifest lists that a
    report can have written (JSON, HTML and PNG files, a collection's model folders); for a report written before
    manifests existed, report.json (recognised by its content), index.html and the PNGs both of them name. The
    manifest itself, when it is a plain file (even an unreadable one). Empty when the folder holds no report."""
    folder = Path(folder)
    manifest = folder / MANIFEST
    own = {MANIFEST} if manifest.is_file() and not manifest.is_symlink() else set()
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8")) if own else None
        entries = listed.get("entries") if isinstance(listed, dict) else None
        if isinstance(entries, list) and all(isinstance(e, str) for e in entries):
            # a manifest (edited, or stale) can never make another kind of file of the user's look replaceable
            return own | {
                e
                for e in entries
                if "/" not in e
                and e not in ("", ".", "..")
                and not (folder / e).is_symlink()
                and (Path(e).suffix.lower() in _REPORT_SUFFIXES or (folder / e).is_dir())
            }
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    try:
        page = (folder / "index.html").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return own
    try:
        text = (folder / "report.json").read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError, UnicodeDecodeError):
        return own | _legacy_collection(folder, page)
    if not (isinstance(data, dict) and {"verdict", "rows", "machine"} <= set(data)):
        return own
    shown = set(re.findall(r"src=['\"]([^'\"/]+\.png)['\"]", page))
    checked = data.get("properties") if isinstance(data.get("properties"), dict) else {}
    ours = {
        name
        for name in shown
        if f'"{name}"' in text  # named by the report (its figures)
        or (name.startswith("properties_") and name[len("properties_") :].split("_")[0].removesuffix(".png") in checked)
    }
    return own | {"report.json", "index.html"} | ours


def _legacy_collection(folder: Path, page: str) -> set[str]:
    """A collection of reports from before manifests: the pytest plugin's index page, and the model folders it
    links to that hold a report."""
    if "<h1>Lorentz reports</h1>" not in page:
        return set()
    linked = set(re.findall(r"href=['\"]([^'\"/]+)/index\.html['\"]", page))
    models = {name for name in linked if (folder / name).is_dir() and report_entries(folder / name)}
    return {"index.html", *models} if models else set()


#: the temporary siblings `clariant_core.atomic` builds a folder in (".name.<pid>.new"/".old"), left behind by a run
#: that was killed: the next report of the collection may remove them
_LEFTOVER = re.compile(r"\.(.+)\.\d+\.(new|old|tmp)")


def _foreign(folder: Path, previous: set[str], collection: bool) -> list[str]:
    """Entries of `folder` that replacing what `previous` lists would overwrite or lose: anything not a regular file
    or folder (links, pipes), JSON/HTML/PNG files and folders no report wrote (a folder holding a report of its own,
    such as `clariant selfcheck`'s in reports/selfcheck, is kept whole), and — unless the folder is written as
    a `collection` again, whose model folders are each replaced by their own report — whatever a listed folder
    (a collection's model report, dropped whole when a single report replaces the collection) holds beyond what its
    own report wrote."""
    out = []
    for entry in sorted(folder.iterdir()):
        if _LEFTOVER.fullmatch(entry.name) and not entry.is_symlink():
            continue  # our own temporary, left by a killed run
        if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
            out.append(entry.name + " (a link or special file)")
        elif entry.name in previous:
            if entry.is_dir() and not collection:
                inner = report_entries(entry)
                out += [
                    f"{entry.name}/{e.name}"
                    for e in sorted(entry.iterdir())
                    if e.name not in inner or e.is_symlink() or not e.is_file()
                ]
        elif entry.is_dir():
            if not report_entries(entry):  # another report's folder is carried over whole; anything else refused
                out.append(entry.name + "/")
        elif entry.suffix.lower() in _REPORT_SUFFIXES:
            out.append(entry.name)
    return out


def kept(entry: Path, previous: set[str]) -> bool:
    """Whether a report written into `entry`'s folder carries it over: everything a previous report did not write
    (a temporary left by a killed run included: it may hold a folder that was being carried over)."""
    return entry.name not in previous


def check_out_dir(out_dir, *, collection: bool = False) -> Path:
    """Fail before any measurement if `out_dir` cannot take a report, and return the folder to write (a symbolic
    link to a folder resolved to it). Refused: a file, a dangling link, a folder that is not writable, a mount point
    or the current directory (the report replaces the folder as a whole), and a folder holding anything a report
    could overwrite or would have to drop that a previous report did not write (`_foreign`; `collection`: the folder
    of several models' reports, each in its own folder). Other files (a README, notes) are kept beside the new
    report."""
    folder = Path(out_dir)
    if folder.is_symlink() and not folder.exists():
        raise FileNotFoundError(
            f"output location {folder} is a symbolic link to {os.readlink(folder)}, which does not exist"
        )
    folder = folder.resolve()
    check_writable_folder(folder)
    if not folder.is_dir():
        return folder
    if not collection:  # a single report replaces its folder as a whole (a collection only its entries)
        if os.path.ismount(folder):
            raise OSError(
                f"output location {folder} is a mount point: a report replaces its folder as a whole, which a mount "
                "point cannot be — give a folder inside it"
            )
        cwd = Path.cwd().resolve()
        if cwd == folder or folder in cwd.parents:
            raise OSError(
                f"output location {folder} is the current directory or holds it: a report replaces its folder as a "
                "whole, leaving a shell or server inside it in the old one — run from elsewhere or give another folder"
            )
    foreign = _foreign(folder, report_entries(folder), collection)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise FileExistsError(
            f"output location {folder} holds {shown}, which no previous report wrote there: a report would overwrite "
            "or drop them — choose a new or empty folder, or move them"
        )
    return folder


def write_manifest(folder: Path, entries: list[str]) -> None:
    """Record the entries a report (or a collection of reports) wrote in `folder`."""
    write_text(Path(folder) / MANIFEST, json.dumps({"written_by": "clariant", "entries": entries}, indent=1))


__all__ = ["MANIFEST", "check_out_dir", "kept", "report_entries", "write_manifest"]
