"""One member per person across a group's JSON and HTML exports.

Telegram Desktop's JSON export writes user ids (``user123``); its HTML export writes
only display names. Without help a person imported from both is two identities
(``user123`` and ``identity_of("Alice")``) and every member event keyed with the member
(joins, leaves, removals, reactions) is stored twice. The importer has no store access,
so ``shequn.ingest`` hands it what the store holds of the platform's groups — each
member with the display name its events carry, each actor with the service message it
acted in — and :class:`People` uses that, one group at a time:

* **Who a name is** (:meth:`People.member`): the id the export itself writes for the
  name (JSON), else the id an identity link of an earlier import made the name (when
  the group's events carry the name with it), else the one id the store's events of
  this group carry with that name (an earlier JSON import, or an HTML import that
  resolved it), else the name's identity. A name carried by two ids in the group is
  ambiguous and stays a name. Each resolution is recorded (:attr:`People.decided`).
* **Which identity keys the person's events** (:meth:`People.key`): the name's identity
  when the store already keys this person's events in this group by name (an HTML
  import came first) and either a link says the name is this member or, with no link
  yet, no one else has the name; else the member's id. So an event has one key
  whatever order the exports arrive in.
* **Links** (:attr:`People.links`, :attr:`People.decided`): every name identity keyed
  so or resolved, to the id it is; the import records them as identity links
  (``members link``), which member counts and analytics already merge on. The links
  make the first decision sticky: a later export in which another user has the same
  display name adds facts (two ids carry the name) that would otherwise change the
  decision, and with it the keys of a re-import. A name the store knows no id for is
  linked to the id of the actor the store's events give the same service message
  (:meth:`People.acted`: the message ids agree, and an actor's name is not kept in the
  event).

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

PLATFORM: Final = "telegram"

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
    #: the platform's identity links (identity → member key): the decisions earlier
    #: imports recorded, shared by every group
    links: Mapping[str, str] = field(default_factory=dict)

    def key_of(self, identity: str) -> str:
        """The member key ``identity`` has in the store."""
        return self.links.get(identity) or f"{PLATFORM}:{identity}"

    def linked_id(self, named: str) -> str | None:
        """The id an identity link made name identity ``named`` in this group: the one id
        the group's events carry with the name whose member is the name's."""
        key = self.links.get(named)
        if key is None:
            return None
        same = sorted(i for i in self.ids.get(named, ()) if self.key_of(i) == key)
        if len(same) > 1 and key.removeprefix(f"{PLATFORM}:") in same:
            return key.removeprefix(f"{PLATFORM}:")
        return same[0] if same else None

    def linked_elsewhere(self, named: str, member: str) -> bool:
        """True when a link made name identity ``named`` a Telegram id other than
        ``member``'s (the name was decided to be someone else)."""
        key = self.links.get(named)
        if key is None or key == self.key_of(member):
            return False
        return is_peer_id(key.removeprefix(f"{PLATFORM}:"))


def known_groups(
    rows: Iterable[MemberRow], links: Mapping[str, str] | None = None
) -> dict[str, KnownGroup]:
    """The store's member and actor rows (:data:`~shequn.store.base.MemberRow`) → what
    is known per group; ``links`` are the platform's identity links."""
    groups: dict[str, KnownGroup] = {}
    shared = links or {}
    for group, identity, name, message in rows:
        known = groups.get(group)
        if known is None:
            known = groups[group] = KnownGroup(links=shared)
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
        #: name identities the export itself writes with two ids
        self.ambiguous = frozenset(ambiguous)
        #: name identity kept in keys → the id it was found to be (links to record)
        self.links: dict[str, str] = {}
        #: name identity → the id the store's events resolved it to (links to record,
        #: so that a later import keeps the decision)
        self.decided: dict[str, str] = {}
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
            linked = self.known.linked_id(found)
            if linked is not None:
                self.resolved.add(found)
                found = linked
            elif ids is not None and len(ids) == 1:
                self.resolved.add(found)
                self.decided[found] = next(iter(ids))
                found = self.decided[found]
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
        if self.known.key_of(named) == self.known.key_of(member):
            self.links[named] = member  # an earlier import decided so: keep it
            return named
        if self.known.linked_elsewhere(named, member):
            return member  # an earlier import made the name another id
        others = self.known.ids.get(named)
        if named in self.ambiguous or (others is not None and others != {member}):
            return member  # the name is someone else's too: do not merge on it
        self.links[named] = member
        return named
