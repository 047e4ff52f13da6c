"""HTML tables of the reports: one cell format for every number the reports show."""

from __future__ import annotations

import html


def fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if v is None:
        return "—"
    return html.escape(str(v))


def table(rows: list[dict], columns: list[str], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f"<tr class='{html.escape(str(r.get('verdict', '')))}'>"
        + "".join(f"<td>{fmt(r.get(c))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table class='{css}'><tr>{head}</tr>{body}</table>"


__all__ = ["fmt", "table"]
