"""One member per person across a group's JSON and HTML exports.

Telegram Desktop's JSON export writes user ids (``user123``); its HTML export writes
only display names. Without help a person imported from both is two identities
(``user123`` and ``identity_of("Alice")``) and every member event keyed with the member
(joins, leaves, removals, reactions) is stored twice. The importer has no store access,
so ``shequn.ingest`` hands it what the store holds of the platform's groups — each
member with the display name its events carry, each actor with the service message it
acted in — and :class:`People` uses that, one group at a time:

* **Who a name is** (:meth:`People.member`): the id the export itself writes for the
  name (JSON), else the one id the store's events of this group carry with that name
  (an earlier JSON import, or an HTML import that resolved it), else the name's
  identity. A name carried by two ids in the group is ambiguous and stays a name.
* **Which identity keys the person's events** (:meth:`People.key`): the name's identity
  when the store already keys this person's events in this group by name (an HTML
  import came first), else the member's id. So an event has one key whatever order the
  exports arrive in, and the rule reads only what the store held before the import
  (kept by every later import), so re-imports key it the same way.
* **Links** (:attr:`People.links`): every name identity keyed so, to the id it is;
  the import records them as identity links (``members link``), which member counts
  and analytics already merge on. A name the store knows no id for is linked to the id
  of the actor the store's events give the same service message (:meth:`People.acted`:
  the message ids agree, and an actor's name is not kept in the event).

What it cannot do: tell two people of one display name apart (one of them known by id
and the other only by name in an HTML export is taken for the first), or match a person
whose display name changed between the exports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from shequn.identity import identity_of
from shequn.store.base import MemberRow

#: identities Telegram's JSON writes (``from_id`` / ``actor_id``); anything else is a name
PEER_ID: Final = re.compile(r"(?:user|channel|chat)\d+")


def is_peer_id(identity: str) -> bool:
    """True for a Telegram id as the JSON export writes it, false for a display name."""
    return PEER_ID.fullmatch(identity) is not None


@dataclass
class KnownGroup:
    """What the store's events of one group say about its members."""

    #: identity of a display name → the Telegram ids stored with that name
    ids: dict[str, set[str]] = field(default_factory=dict)
    #: identities that are display names (stored by HTML imports, or JSON invitees
    #: the export wrote no id for)
    named: set[str] = field(default_factory=set)
    #: service message id → the Telegram id of its actor
    actors: dict[str, str] = field(default_factory=dict)


def known_groups(rows: Iterable[MemberRow]) -> dict[str, KnownGroup]:
    """The store's member and actor rows (:data:`~shequn.store.base.MemberRow`) → what
    is known per group."""
    groups: dict[str, KnownGroup] = {}
    for group, identity, name, message in rows:
        known = groups.setdefault(group, KnownGroup())
        if name is not None:
            written = identity_of(name)
            if is_peer_id(identity):
                known.ids.setdefault(written, set()).add(identity)
            elif identity == written:
                known.named.add(identity)
        elif is_peer_id(identity):
            if message is not None:
                known.actors[message] = identity
        elif identity == identity_of(identity):
            known.named.add(identity)  # a name identity seen acting only
    return groups


class People:
    """The identities of one group's members during one import (see module docstring)."""

    def __init__(
        self,
        known: KnownGroup | None = None,
        written: Mapping[str, str] | None = None,
        ambiguous: Iterable[str] = (),
    ) -> None:
        self.known = known or KnownGroup()
        #: the export's own name → id table (JSON's survey; HTML has none)
        self.written: Mapping[str, str] = written or {}
        #: names the export itself writes with two ids
        self.ambiguous = frozenset(ambiguous)
        #: name identity → the id it was found to be (identity links to record)
        self.links: dict[str, str] = {}
        #: name identities resolved to an id by the store, left as names (several ids),
        #: or kept as names (the store has no id for them)
        self.resolved: set[str] = set()
        self.unresolved: set[str] = set()
        self.unknown: set[str] = set()
        self._members: dict[str, str] = {}
        self._names: dict[str, str] = {}

    def _identity(self, name: str) -> str:
        found = self._names.get(name)
        if found is None:
            found = self._names[name] = identity_of(name)
        return found

    def member(self, name: str | None) -> str | None:
        """The identity of a member the export names without an id."""
        if not name:
            return None
        found = self._members.get(name)
        if found is not None:
            return found
        found = self.written.get(name)
        if found is None:
            found = self._identity(name)
            ids = self.known.ids.get(found)
            if ids is not None and len(ids) == 1:
                self.resolved.add(found)
                found = next(iter(ids))
            elif ids is not None:
                self.unresolved.add(found)
            else:
                self.unknown.add(found)
        self._members[name] = found
        return found

    def acted(self, message: str, actor: str | None) -> None:
        """The actor of service message ``message`` is ``actor`` here: when that is a name
        identity and the store's events of the message give its actor's id, link them.

        For actors whose name the store does not hold (events keep an actor's id, not its
        name); a name the store gives several ids is no one in particular and stays.
        """
        known = self.known.actors.get(message)
        if known is None or actor is None or actor == known or is_peer_id(actor):
            return
        if actor not in self.unresolved:
            self.links.setdefault(actor, known)

    def key(self, member: str | None, name: str | None) -> str | None:
        """The identity that goes into the key of ``member``'s events in this group."""
        if member is None or not name or not self.known.named:
            return member
        named = self._identity(name)
        if named == member or named not in self.known.named or not is_peer_id(member):
            return member
        others = self.known.ids.get(named)
        if name in self.ambiguous or (others is not None and others != {member}):
            return member  # the name is someone else's too: do not merge on it
        self.links[named] = member
        return named
