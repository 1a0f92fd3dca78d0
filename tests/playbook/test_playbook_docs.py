"""docs/playbook.md, which the starting playbook and the README point to, names every
field of the playbook model, and only fields the model has."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shequn.playbook import starting_playbook
from shequn.playbook.model import Playbook

DOC = Path(__file__).parents[2] / "docs" / "playbook.md"


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models inside a field's type (through lists, unions and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models(arg)
    return found


def fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every leaf field as the page writes it: ``rules.penalty.at``, a table of models
    keyed by the operator as ``points.actions.<action>.points``."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        if origin is dict and _models(typing.get_args(annotation)[1]):
            for inner in _models(typing.get_args(annotation)[1]):
                out |= fields(inner, f"{path}.<{name.rstrip('s')}>.")
            continue
        inner_models = [] if origin is dict else _models(annotation)
        if inner_models and origin not in (types.UnionType, typing.Union):
            for inner in inner_models:
                out |= fields(inner, f"{path}.")
        else:
            out.add(path)
    return out


def test_the_walk_finds_nested_tables_and_rule_kinds() -> None:
    found = fields(Playbook)
    for path in (
        "community",
        "screening.questions.pattern",
        "rules.penalty.block_rejoin",
        "rules.min_member_days",
        "rules.pattern",
        "points.actions.<action>.cooldown",
        "points.deductions",
        "checkins.streak_bonus",
        "team.members.role",
        "groups.cap",
    ):
        assert path in found, path


def test_every_field_is_on_the_page_and_every_listed_field_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z_<>.]+)` \|", text, re.M))
    model = fields(Playbook)
    assert model - listed == set(), "fields missing from docs/playbook.md"
    assert listed - model == set(), "docs/playbook.md lists fields the model does not have"


def test_the_starting_playbook_points_to_the_page() -> None:
    assert "docs/playbook.md" in starting_playbook() and DOC.exists()
