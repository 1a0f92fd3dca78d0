"""The report as one self-contained HTML file: data, chart library and code inline.

Nothing is fetched: the page's Content-Security-Policy allows no source but the two
inline scripts it ships (by hash) and inline styles, so a name or message that tried
to load or run something could not even if it escaped the escaping. The data travels
as JSON in a ``<script type="application/json">`` block with ``<``, ``>`` and ``&``
written as ``\\u003c`` …, so no text inside it can end the block; the page turns it
into DOM text nodes, never markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np

from shequn.report.collect import Report
from shequn.report.positioning import positioning_lines

#: the chart library vendored under assets/ (see scripts/vendor-report-js)
CHART_LIBRARY: Final = "echarts.min.js"
#: rows of one metric the page carries at most (in the metric's order; --json has all)
PAGE_ROWS: Final = 5000
#: the page's data is written key by key this many object levels deep ...
JSON_DEPTH: Final = 4
#: ... and lists longer than this many items a slice at a time (the explorer's columns)
JSON_LIST_ITEMS: Final = 1 << 16

_PLACEHOLDER = re.compile(r"\{\{([A-Z]+)\}\}")
_JSON_ESCAPES: Final = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def asset(name: str) -> str:
    """A file of the report package's assets/ or templates/ folder."""
    folder = "templates" if name.endswith(".html") else "assets"
    return resources.files("shequn.report").joinpath(folder, name).read_text(encoding="utf-8")


def script_json_pieces(value: Any, depth: int = JSON_DEPTH) -> Iterator[str]:
    """JSON that is safe inside ``<script type="application/json">``, in pieces that
    join to the JSON of ``value`` written whole: the objects of the first ``depth``
    levels key by key, long lists :data:`JSON_LIST_ITEMS` items at a time. At
    10M messages the page's data is ≈ 60 MB of JSON: built whole, it was several copies
    of that (the encoder's chunks, the string, the escaped string, the page, its bytes)
    at the report's peak; a piece at a time, it is written as it is made. NumPy arrays
    (the explorer's cube) are written as the lists of their values, a slice at a time."""
    if depth > 0 and isinstance(value, dict) and all(isinstance(k, str) for k in value):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + _escaped(_dumps(key)) + ":"
            yield from script_json_pieces(item, depth - 1)
        yield "}"
    elif depth > 0 and isinstance(value, list | np.ndarray) and len(value) > JSON_LIST_ITEMS:
        yield "["
        for start in range(0, len(value), JSON_LIST_ITEMS):
            part = _escaped(_dumps(value[start : start + JSON_LIST_ITEMS]))
            yield ("," if start else "") + part[1:-1]
        yield "]"
    else:
        yield _escaped(_dumps(value))


def _dumps(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=json_list
    )


def json_list(value: Any) -> Any:
    """A NumPy array (the explorer's cube columns) as the list JSON writes for it; any
    other object is not JSON."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _escaped(text: str) -> str:
    """``<``, ``>``, ``&`` and the JavaScript line breaks as JSON escapes (each is one
    character, so pieces escape the same as their whole)."""
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group(0)], text)


def inline_js(source: str) -> str:
    """JavaScript that cannot end its ``<script>`` element early."""
    source = re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)
    return source.replace("<!--", "<\\!--")


def csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(*scripts: str) -> str:
    """Nothing remote, nothing inline but ``scripts`` (by hash) and styles."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(csp_hash(s) for s in scripts),
            "style-src 'unsafe-inline'",
            "img-src data:",
            "font-src data:",
            "connect-src 'none'",
            "media-src 'none'",
            "object-src 'none'",
            "frame-src 'none'",
            "worker-src 'none'",
            "manifest-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
        ]
    )


def page_document(document: dict[str, Any], limit: int = PAGE_ROWS) -> dict[str, Any]:
    """The document with each metric's rows cut to ``limit`` (``total_rows`` says how many)."""
    metrics = {}
    for name, metric in document["metrics"].items():
        rows = metric["rows"]
        total = metric.get("total_rows", len(rows))  # a document built with a row limit
        metrics[name] = {**metric, "rows": rows[:limit], "total_rows": total}
    return {**document, "metrics": metrics}


def render_html(report: Report) -> str:
    """The whole page as one string."""
    return "".join(html_pieces(report))


def write_html(report: Report, path: Path) -> None:
    """The page written to ``path`` piece by piece (:func:`html_pieces`), as UTF-8."""
    with path.open("w", encoding="utf-8", newline="") as out:
        for piece in html_pieces(report):
            out.write(piece)


def html_pieces(report: Report) -> Iterator[str]:
    """The page in order, the template's text and each placeholder's value, the data
    (:func:`script_json_pieces`) in pieces."""
    scope = report.document.get("scope") or {}
    heading = f"shequn report: {scope.get('community') or 'all communities'}"
    chart_js = inline_js(asset(CHART_LIBRARY))
    app_js = inline_js(asset("report.js"))
    values = {
        "CSP": html.escape(content_security_policy(chart_js, app_js)),
        "TITLE": html.escape(heading),
        "HEADING": html.escape(heading),
        "POSITIONING": positioning_html(report.document.get("positioning")),
        "CSS": asset("report.css").replace("</", "<\\/"),
        "ECHARTS": chart_js,
        "APP": app_js,
    }
    data = {"report": page_document(report.document), "explorer": report.explorer}
    # one pass over the template, so a placeholder-like text inside a value is never
    # replaced
    template = asset("report.html")
    at = 0
    for found in _PLACEHOLDER.finditer(template):
        yield template[at : found.start()]
        name = found.group(1)
        if name == "DATA":
            yield from script_json_pieces(data)
        else:
            yield values[name]
        at = found.end()
    yield template[at:]


def positioning_html(positioning: Mapping[str, Any] | None) -> str:
    """The community's positioning as the page's first box (escaped text; nothing at
    all when the report has none)."""
    if not positioning:
        return ""
    rows = "".join(
        f'<p><span class="label">{html.escape(label)}:</span> {html.escape(text)}</p>'
        for label, text in positioning_lines(positioning)
    )
    version = positioning.get("playbook_version")
    source = f"playbook v{version}" if version is not None else "playbook"
    return (
        '<section id="positioning" class="block" aria-label="Positioning">'
        f"<h2>Positioning <small>({html.escape(source)})</small></h2>{rows}</section>"
    )
