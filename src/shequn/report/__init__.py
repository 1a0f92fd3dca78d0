"""The operator's report: every metric's numbers, what they mean, and what to do.

:func:`build_report` runs the metric set on a context and returns a :class:`Report`;
:func:`render_html` renders it as one offline HTML page (:func:`write_html` writes the
page to a file piece by piece), :func:`print_report` as terminal tables, and
``Report.document`` is the ``--json`` document.
"""

from shequn.report.collect import SECTIONS, Report, assemble, build_report
from shequn.report.html import render_html, write_html
from shequn.report.terminal import print_report

__all__ = [
    "SECTIONS",
    "Report",
    "assemble",
    "build_report",
    "print_report",
    "render_html",
    "write_html",
]
