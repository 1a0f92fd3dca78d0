"""The community's positioning (定位) at the top of the report: what it is for, who it
is for, its topics and goals, as its current playbook says.

Read from the store the report is made from (the last applied playbook version,
``shequn playbook apply``); an embedded store is opened read-only, as the report reads
it. No community named (``--community``), no store, no playbook applied, or a playbook
whose positioning is empty: the report has no positioning (``null`` in the JSON, no
box on the page, no lines in the terminal).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shequn.errors import ConfigError
from shequn.playbook import parse_playbook
from shequn.playbook.model import Positioning
from shequn.report.masking import mask_values

#: the fields shown, in order: the words the page and the terminal put before them, and
#: how a list's entries are joined
FIELDS = (
    ("purpose", "What it is for", ""),
    ("audience", "Who it is for", ""),
    ("topics", "Topics", ", "),
    ("goals", "Goals", "; "),
)


def stored_playbook(location: str | None, community: str) -> tuple[int, str] | None:
    """The community's current playbook (version, text) in the store at ``location``,
    or None when there is no such store or no playbook was applied."""
    import duckdb

    from shequn.store import is_server_url, open_store, store_target

    target = store_target(location)
    if is_server_url(target):
        with open_store(target) as db:
            versions = db.playbooks(community)
        return (versions[-1].version, versions[-1].text) if versions else None
    if not Path(target).exists():
        return None
    try:
        con = duckdb.connect(target, read_only=True)
    except duckdb.Error as exc:  # e.g. held by a writer: said as the log's own open says it
        raise ConfigError("--store", f"cannot open {target} for reading: {exc}") from exc
    try:
        row = con.execute(
            "SELECT version, text FROM playbooks WHERE community = ? ORDER BY version DESC LIMIT 1",
            [community],
        ).fetchone()
    except duckdb.CatalogException:  # a store made before playbooks were kept
        row = None
    finally:
        con.close()
    return (int(row[0]), str(row[1])) if row else None


def positioning_json(
    positioning: Positioning, community: str, version: int, *, show_phones: bool = False
) -> dict[str, Any] | None:
    """The document's ``positioning``: the fields with text (blank entries dropped, phone
    numbers masked unless ``show_phones``), or None when none has any."""
    purpose, audience = positioning.purpose.strip(), positioning.audience.strip()
    topics = [t.strip() for t in positioning.topics if t.strip()]
    goals = [g.strip() for g in positioning.goals if g.strip()]
    if not (purpose or audience or topics or goals):
        return None
    [purpose, audience] = mask_values([purpose, audience], show_phones=show_phones)
    return {
        "community": community,
        "playbook_version": version,
        "purpose": purpose,
        "audience": audience,
        "topics": mask_values(topics, show_phones=show_phones),
        "goals": mask_values(goals, show_phones=show_phones),
    }


def current_positioning(
    location: str | None, community: str | None, *, show_phones: bool = False
) -> dict[str, Any] | None:
    """The positioning of ``community``'s current playbook, as the report shows it."""
    if not community:
        return None
    found = stored_playbook(location, community)
    if found is None:
        return None
    version, text = found
    book = parse_playbook(text, f"{community} playbook v{version}")
    return positioning_json(book.positioning, community, version, show_phones=show_phones)


def positioning_lines(positioning: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) per field with text, lists joined: what the page and terminal show."""
    lines = []
    for name, label, joined in FIELDS:
        value = positioning.get(name)
        text = joined.join(value) if isinstance(value, list) else (value or "")
        if text:
            lines.append((label, text))
    return lines
