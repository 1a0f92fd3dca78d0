"""``shequn members`` (list, link, unlink, suggest) and ``shequn forget``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shequn.cli.common import (
    CommunityOption,
    JsonOption,
    ShowPhonesOption,
    StoreOption,
    cell,
    errors,
    out,
    store_location,
)
from shequn.members import resolve, suggest_links
from shequn.privacy.display import shown
from shequn.privacy.forgetting import forget_member
from shequn.safe_text import json_text, printable
from shequn.store import open_store
from shequn.store.base import IdentityInfo

members_app = typer.Typer(add_completion=False)

MemberArgument = Annotated[
    str, typer.Argument(help="platform:identity, an identity, or a display name.")
]


def _row(info: IdentityInfo, show_phones: bool) -> dict[str, object]:
    return {
        "platform": info.platform,
        "identity": shown(info.identity, show_phones=show_phones),
        "member": shown(info.member_key, show_phones=show_phones),
        "names": [shown(n, show_phones=show_phones) for n in info.names],
        "messages": info.messages,
        "events": info.events,
        "groups": list(info.groups),
        "first": info.first.isoformat() + "Z" if info.first else None,
        "last": info.last.isoformat() + "Z" if info.last else None,
    }


@members_app.callback(invoke_without_command=True)
def members_list(
    ctx: typer.Context,
    community: CommunityOption = None,
    limit: Annotated[int, typer.Option(help="Print at most this many (0: all).")] = 50,
    show_phones: ShowPhonesOption = False,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Members by identity, most messages first: names, member key, groups.

    Identities linked to one member (a number change, `members link`) share a member
    key. Phone numbers are masked unless --show-phones.

    Example: shequn members --community makers --limit 20
    """
    if ctx.invoked_subcommand is not None:
        return
    with errors(), open_store(store_location(ctx, store)) as db:
        found = db.identities(community)
    found.sort(key=lambda i: (-i.messages, -i.events, i.platform, i.identity))
    shown_rows = found[:limit] if limit > 0 else found
    if as_json:
        out.print(
            json_text([_row(i, show_phones) for i in shown_rows]),
            markup=False,
        )
        return
    if not found:
        out.print("the store holds no members yet; try `shequn import`", markup=False)
        return
    table = Table(show_header=True)
    for column in ("platform", "identity", "names", "member", "messages", "events", "last"):
        table.add_column(column, justify="right" if column in ("messages", "events") else "left")
    for info in shown_rows:
        row = _row(info, show_phones)
        table.add_row(
            info.platform,
            cell(str(row["identity"])),
            cell(", ".join(shown(n, show_phones=show_phones) for n in info.names[:3])),
            cell(str(row["member"])),
            f"{info.messages:,}",
            f"{info.events:,}",
            info.last.strftime("%Y-%m-%d") if info.last else "-",
        )
    out.print(table)
    if len(found) > len(shown_rows):
        out.print(f"… {len(found) - len(shown_rows):,} more (--limit 0 prints all)", markup=False)


@members_app.command("link")
def members_link(
    ctx: typer.Context,
    first: MemberArgument,
    second: MemberArgument,
    community: CommunityOption = None,
    store: StoreOption = None,
) -> None:
    """Say that two identities are one person; analytics count them as one member.

    Example: shequn members link "whatsapp:+49 170 1234567" telegram:user42
    """
    with errors(), open_store(store_location(ctx, store)) as db:
        known = db.identities(community)
        a, b = resolve(known, first), resolve(known, second)
        key = db.link_members((a.platform, a.identity), (b.platform, b.identity))
    out.print(
        printable(
            f"linked {a.platform}:{shown(a.identity)} and {b.platform}:{shown(b.identity)} "
            f"as member {shown(key)}"
        ),
        markup=False,
    )


@members_app.command("unlink")
def members_unlink(
    ctx: typer.Context,
    member: MemberArgument,
    community: CommunityOption = None,
    store: StoreOption = None,
) -> None:
    """Make an identity its own member again (undoes `members link` for it).

    Example: shequn members unlink telegram:user42
    """
    with errors(), open_store(store_location(ctx, store)) as db:
        info = resolve(db.identities(community), member)
        changed = db.unlink_member(info.platform, info.identity)
    name = f"{info.platform}:{shown(info.identity)}"
    out.print(printable(f"unlinked {name}" if changed else f"{name} was not linked"), markup=False)


@members_app.command("suggest")
def members_suggest(
    ctx: typer.Context,
    community: CommunityOption = None,
    show_phones: ShowPhonesOption = False,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Identities that look like one person (same phone number, same handle); applies none.

    Example: shequn members suggest --community makers
    """
    with errors(), open_store(store_location(ctx, store)) as db:
        suggestions = suggest_links(db.identities(community))

    def ref(i: IdentityInfo) -> str:
        return f"{i.platform}:{shown(i.identity, show_phones=show_phones)}"

    if as_json:
        out.print(
            json_text(
                [{"a": ref(s.a), "b": ref(s.b), "reasons": list(s.reasons)} for s in suggestions],
            ),
            markup=False,
        )
        return
    if not suggestions:
        out.print("no likely links found", markup=False)
        return
    for s in suggestions:
        out.print(printable(f"{ref(s.a)}  ~  {ref(s.b)}   ({'; '.join(s.reasons)})"), markup=False)
    out.print("apply one with: shequn members link A B", markup=False)


def forget(
    ctx: typer.Context,
    member: MemberArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    community: CommunityOption = None,
    store: StoreOption = None,
) -> None:
    """Delete a member's content and identities for good, keeping anonymous counts.

    Every identity linked to the member is forgotten; their messages still count,
    under an anonymous token, without text or names. Importing an old export again
    forgets them again.

    Example: shequn forget "whatsapp:+49 170 1234567" --yes
    """
    with errors(), open_store(store_location(ctx, store)) as db:
        info = resolve(db.identities(community), member)
        label = printable(f"{info.platform}:{shown(info.identity)}")
        if not yes and not typer.confirm(f"forget {label} and every identity linked to it?"):
            raise typer.Exit(1)
        report = forget_member(db, info.platform, info.identity)
    out.print(
        f"forgot {len(report.identities)} identit{'y' if len(report.identities) == 1 else 'ies'} "
        f"of {label}: {report.events:,} events anonymised, {report.mentions:,} mentions "
        f"removed, {report.rejects:,} rejected lines deleted",
        markup=False,
    )
