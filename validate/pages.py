"""The one writer of the project's HTML pages: the validation report, the property checks' stand-alone page, the
group-library self-check and the plugin's index all go through `page` / `write`, so they share one look and
one set of verdict colours. Tables: `clariant.validate.tables`."""

from __future__ import annotations

import html
from pathlib import Path

from clariant_core.atomic import write_text

STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:1.5em auto;color:#222}img{max-width:100%}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;"
    "text-align:left}th{background:#f3f3f3}table.fields th{text-align:left;font-weight:normal}"
    "figure{margin:1em 0}figcaption{font-size:13px;color:#333;max-width:70em}figcaption dt{font-weight:bold}"
    ".summary{font-size:16px}"
    ".PASS,.SAFE,.EVEN{color:#176f2c}.NUMERICAL,.ODD,.NEITHER{color:#a36300}"
    ".BROKEN,.UNSAFE{color:#b00020;font-weight:bold}tr.BROKEN td,tr.UNSAFE td{background:#fde7ea}"
    "tr.NUMERICAL td{background:#fff4e0}.NONFINITE{color:#6a00a3;font-weight:bold}tr.NONFINITE td{background:#f3e6fb}"
    ".UNRESOLVED{color:#555}tr.UNRESOLVED td{background:#eee}"
)


def page(title: str, sections: list[str]) -> str:
    """A complete HTML page: `title` as the document title, `sections` (HTML fragments) as its body."""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(sections)}</body></html>"
    )


def figure(src: str, alt: str, caption: str) -> str:
    """An image with its caption (HTML fragment; `caption` is HTML)."""
    return f"<figure><img src='{html.escape(src)}' alt='{html.escape(alt)}'><figcaption>{caption}</figcaption></figure>"


def write(folder, title: str, sections: list[str], name: str = "index.html") -> Path:
    """Write `page(title, sections)` atomically to folder/name; returns its path."""
    return write_text(Path(folder) / name, page(title, sections))


__all__ = ["STYLE", "figure", "page", "write"]
