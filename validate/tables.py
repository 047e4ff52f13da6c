"""HTML tables of the reports: one cell format for every number the reports show, column headers in words
(`clariant.validate.labels`), and two-column tables (field, value) for nested metadata such as a model card."""

from __future__ import annotations

import html

from .labels import column, field
from .properties.verdicts import PropertyVerdict
from .verdict import Verdict


def fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    if v is None:
        return "—"
    if isinstance(v, (list, tuple)):
        return html.escape(", ".join(str(x) for x in v))
    return html.escape(str(v))


# the reports' verdict words: a cell holding one is coloured
_WORDS = {str(v.value) for v in (*Verdict, *PropertyVerdict)}


def _cell(v) -> str:
    text = fmt(v)
    return f"<td class='{text}'>{text}</td>" if text in _WORDS else f"<td>{text}</td>"


def table(rows: list[dict], columns: list, css: str = "") -> str:
    """An HTML table of `rows` (dicts); `columns` lists keys, or (key, header) pairs for a header other than the
    key's words. A row's "verdict" becomes its CSS class, and so does a cell's verdict word."""
    cols = [c if isinstance(c, tuple) else (c, column(c)) for c in columns]
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in cols)
    body = "".join(
        f"<tr class='{html.escape(str(r.get('verdict', '')))}'>" + "".join(_cell(r.get(k)) for k, _ in cols) + "</tr>"
        for r in rows
    )
    return f"<table class='{css}'><tr>{head}</tr>{body}</table>"


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for k, v in data.items():
        name = f"{prefix} › {field(str(k))}" if prefix else field(str(k))
        if isinstance(v, dict) and v:
            out += _flatten(v, name)
        else:
            out.append((name, v))
    return out


def fields(data: dict, css: str = "small") -> str:
    """A two-column table (field, value) of a mapping; nested mappings become rows "outer › inner"; field names in
    words (`labels.field`)."""
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{fmt(v)}</td></tr>" for k, v in _flatten(data))
    return f"<table class='{css} fields'>{body}</table>"


__all__ = ["fields", "fmt", "table"]
