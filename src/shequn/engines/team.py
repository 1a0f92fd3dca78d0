"""Who may do what, and where: the team's permissions, enforced on the decisions a
human records (issue 6).

An engine honours a human's decision carried by an event — a ``join_decided``, or an
``action_taken`` that is not one of the engines' own (``warn``, ``mute``, points awarded
by hand, a redemption a team member confirms …) — only when its ``actor`` is on the team
with the permission the decision needs, *in that group*: a group whose ``team`` lists
members is run by those members and the owner; a group with an empty ``team`` (or one
the playbook does not list) by the whole team. What a role may do is
``team.permissions`` (a role the playbook leaves out keeps its default, model.py).

:class:`TeamPermissions` computes the (group, member) → permissions table once, when
an engine is built; it is consulted only on those rare events, never on a message.
A decision not honoured changes nothing, and the engine that owns it says why in a
``notice`` to the actor (``rule`` = :data:`REFUSED`): "not honoured: telegram:x may not
decide join requests in Makers (not on the team); telegram:alice's request stays
queued."
"""

from __future__ import annotations

from typing import Final

from shequn.engines.base import EngineEvent
from shequn.engines.rules import group_key, team_roles
from shequn.playbook.model import Playbook

#: the ``rule`` of a refusal notice (what other engines must not read as a penalty)
REFUSED: Final = "team.permissions"
#: the permission a human's action needs (actions not named here need none)
NEEDS: Final[dict[str, str]] = {
    "approve": "approve",
    "reject": "approve",
    "warn": "warn",
    "notice": "warn",
    "mute": "mute",
    "remove": "remove",
    "award_points": "award",
    "deduct_points": "award",
    "redeem": "redeem",
}
#: what a permission lets a team member do, in words ("… may not {doing} in …")
DOING: Final[dict[str, str]] = {
    "approve": "decide join requests",
    "warn": "warn members",
    "mute": "mute members",
    "remove": "remove members",
    "award": "award or deduct points",
    "redeem": "redeem rewards for members",
    "broadcast": "broadcast",
    "edit_playbook": "edit the playbook",
}


def human(event: EngineEvent) -> bool:
    """Whether an ``action_taken`` is a human's: not fed back by the runner.

    An engine's own actions reach the engines only fed back (``event.action`` set): the
    actions the runs recorded are left out of the replay (runner.read_log). So a stored
    ``action_taken`` is someone's record whatever its ``extra`` says — one naming a
    built-in engine (``"engine": "checkins"``) needs a permitted ``actor`` like any
    other, or whoever writes the record could skip the team's permissions.
    """
    return event.action is None


class TeamPermissions:
    """The (group, member) → permissions table of one playbook (see module docstring)."""

    def __init__(self, playbook: Playbook) -> None:
        roles = team_roles(playbook)
        granted: dict[str, list[str]] = {
            str(role): list(perms) for role, perms in playbook.team.permissions.items()
        }
        #: member → their roles' permissions (a group with no team list, or unlisted)
        self.anywhere: dict[str, frozenset[str]] = {
            member: frozenset(p for role in held for p in granted.get(role, ()))
            for member, held in roles.items()
        }
        self.roles = {member: sorted(held) for member, held in roles.items()}
        self.granted = granted
        self.names: dict[str, str] = {}
        #: group → its team list (groups that have one)
        self.listed: dict[str, list[str]] = {}
        #: (group, member) → permissions there, for every listed group
        self.table: dict[tuple[str, str], frozenset[str]] = {}
        for g in playbook.groups:
            group = group_key(g.platform, g.id)
            self.names[group] = g.name or g.id
            if g.team:
                self.listed[group] = list(g.team)
            runs = set(g.team)
            for member, held in roles.items():
                if not runs or member in runs or "owner" in held:
                    self.table[(group, member)] = self.anywhere[member]

    def allows(self, group: str, actor: str | None, permission: str) -> bool:
        if actor is None:
            return False
        perms = self.table.get((group, actor))
        if perms is None and group not in self.names:
            perms = self.anywhere.get(actor)
        return perms is not None and permission in perms

    def refusal(self, group: str, actor: str | None, permission: str) -> str | None:
        """``None`` when ``actor`` may use ``permission`` in ``group``; else why not, in
        words: "telegram:x may not mute members in Makers (not on the team)"."""
        if self.allows(group, actor, permission):
            return None
        where = self.names.get(group, group)
        doing = DOING.get(permission, permission)
        if actor is None:
            return f"the decision names no actor; only the team may {doing} in {where}"
        if actor not in self.anywhere:
            why = "not on the team"
        elif (group, actor) not in self.table and group in self.listed:
            listed = self.listed[group]
            owners = [m for m, held in self.roles.items() if "owner" in held and m not in listed]
            why = f"not on its team: {', '.join(listed)}" + (", and the owner" if owners else "")
        else:
            held = self.roles[actor]
            lists = "; ".join(
                f"team.permissions.{role} = [{', '.join(self.granted.get(role, []))}]"
                for role in held
            )
            article = "an" if held[0][0] in "aeiou" else "a"
            why = f"{article} {' and '.join(held)} lacks the {permission} permission: {lists}"
        return f"{actor} may not {doing} in {where} ({why})"
