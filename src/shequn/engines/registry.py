"""Which engines run, and in which order: name → ``"module:Class"``.

The runner builds every engine here from the playbook (``Class(playbook)``) and feeds
each event to them in this order — screening first (a newcomer is screened before any
rule judges them), then moderation, metabolism, scoring (which deducts points for the
penalties the engines before it decided) and check-ins.

An entry whose module is not there is skipped, and the skip is reported as a note
(:func:`load_engines` returns it), so a partial install still runs what it has.
If the module is there but has no attribute ``Class``, the engine class is found by its
``name`` (the one class in the module whose ``name`` is the entry's name).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any, Final

from shequn.engines.base import Engine
from shequn.playbook.model import Playbook

#: the engines in the order they see each event
ENGINES: Final[tuple[tuple[str, str], ...]] = (
    ("screening", "shequn.engines.screening:ScreeningEngine"),
    ("moderation", "shequn.engines.moderation:ModerationEngine"),
    ("metabolism", "shequn.engines.metabolism:MetabolismEngine"),
    ("scoring", "shequn.engines.scoring:ScoringEngine"),
    ("checkins", "shequn.engines.checkins:CheckInEngine"),
)


def _engine_class(name: str, target: str) -> type[Any] | None:
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None  # the engine is not installed (a missing import inside it is a bug)
        raise
    found = getattr(module, class_name, None)
    if isinstance(found, type):
        return found
    named = [
        obj
        for _, obj in sorted(inspect.getmembers(module, inspect.isclass))
        if obj.__module__ == module.__name__
        and getattr(obj, "name", None) == name
        and callable(getattr(obj, "step", None))
    ]
    if len(named) != 1:
        raise LookupError(f"engine {name!r}: {target} names no class, and {module_name} has none")
    return named[0]


def with_linked_members(playbook: Playbook, links: Mapping[str, str]) -> Playbook:
    """``playbook`` with every member it names (its team, each group's team, its tags)
    as the member key the engines see: an identity linked to another member (``shequn
    members link``, or an importer's own links) is that member in the events, and a
    team member or a protected member listed by it must be too."""
    if not links:
        return playbook

    def key(ref: str) -> str:
        return links.get(ref, ref)

    team = playbook.team.model_copy(
        update={
            "members": [
                m.model_copy(update={"member": key(m.member)}) for m in playbook.team.members
            ]
        }
    )
    groups = [g.model_copy(update={"team": [key(r) for r in g.team]}) for g in playbook.groups]
    tags = {tag: [key(r) for r in refs] for tag, refs in playbook.tags.items()}
    return playbook.model_copy(update={"team": team, "groups": groups, "tags": tags})


def load_engines(
    playbook: Playbook,
    registry: Sequence[tuple[str, str]] | None = None,
    *,
    kols: Sequence[str] = (),
) -> tuple[list[Engine[Any]], list[str]]:
    """The engines built from ``playbook`` in registry order, and notes on skipped ones.

    ``kols``: the analytics' KOL ranking (member keys, best first), given to each engine
    whose constructor takes it (metabolism protects the top ones).
    """
    engines: list[Engine[Any]] = []
    notes: list[str] = []
    for name, target in ENGINES if registry is None else registry:
        cls = _engine_class(name, target)
        if cls is None:
            notes.append(f"engine {name!r} is not installed ({target.partition(':')[0]}); skipped")
            continue
        takes_kols = "kols" in inspect.signature(cls).parameters
        engines.append(cls(playbook, kols=kols) if takes_kols else cls(playbook))
    return engines, notes
