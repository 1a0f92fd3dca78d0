"""``shequn playbook``: init, validate, apply, history, clone, schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shequn.cli.common import StoreOption, err, errors, out, store_location
from shequn.errors import ConfigError
from shequn.playbook import (
    StartingGroup,
    clone_playbook,
    load_playbook,
    parse_playbook,
    schema_text,
    starting_playbook,
)
from shequn.safe_text import json_text
from shequn.store import Window, is_server_url, open_store, store_target

playbook_app = typer.Typer(add_completion=False, no_args_is_help=True)


@playbook_app.callback()
def playbook_main() -> None:
    """The community's playbook: how it is run, in one TOML file, versioned in the store.

    Example: shequn playbook validate playbook.toml
    """


FileArgument = Annotated[Path, typer.Argument(help="A playbook TOML file.")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write to this file (default: standard output).")
]


def _write(text: str, target: Path | None, force: bool = False) -> None:
    if target is None:
        out.print(text, markup=False, end="")
        return
    if target.exists() and not force:
        raise ConfigError("--out", f"{target} exists; pass --force to overwrite it")
    target.write_text(text, encoding="utf-8")
    out.print(f"wrote {target}", markup=False)


@playbook_app.command("init")
def playbook_init(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="The community it runs.")] = "makers",
    platform: Annotated[
        str | None, typer.Option(help="Platform of the group (default: the store's groups).")
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="Id of the group (default: the store's groups).")
    ] = None,
    timezone: Annotated[str, typer.Option(help="The group's IANA timezone.")] = "Asia/Shanghai",
    cap: Annotated[int, typer.Option(min=1, help="Each group's size limit.")] = 500,
    target: OutOption = None,
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
    store: StoreOption = None,
) -> None:
    """Write a commented starting playbook (screening, rules, points, levels, check-ins).

    The groups are the community's groups in the store (platform, id, name, timezone),
    unless --platform and --group name one; with neither, a placeholder group.

    Example: shequn playbook init --community makers --out playbook.toml
    """
    with errors():
        groups: list[StartingGroup] = []
        if platform is None and group is None:
            groups = _stored_groups(store_location(ctx, store), community)
        text = starting_playbook(
            community,
            platform or "telegram",
            group or "-1001234567890",
            timezone,
            groups=groups,
            cap=cap,
        )
        parse_playbook(text, "template")
        _write(text, target, force)
    if platform is None and group is None and not groups:
        err.print(
            f"note: no groups of community {community!r} in the store: a placeholder group "
            "was written (set [[groups]], or pass --platform and --group)",
            markup=False,
        )


def _stored_groups(location: str | None, community: str) -> list[StartingGroup]:
    """The community's groups as the store holds them (none if there is no store yet)."""
    target = store_target(location)
    if not is_server_url(target) and not Path(target).exists():
        return []
    with open_store(target) as db:
        return [
            StartingGroup(g.platform, g.group_id, g.name, g.timezone)
            for g in db.groups(Window(community))
        ]


@playbook_app.command("validate")
def playbook_validate(file: FileArgument) -> None:
    """Check a playbook; every problem is printed with its file, line and field.

    Example: shequn playbook validate playbook.toml
    """
    with errors():
        book = load_playbook(file)
    out.print(
        f"{file}: valid — community {book.community!r}, {len(book.groups)} group(s), "
        f"{len(book.rules)} rule(s), {len(book.levels)} level(s), {len(book.badges)} badge(s)",
        markup=False,
    )


@playbook_app.command("apply")
def playbook_apply(
    ctx: typer.Context,
    file: FileArgument,
    community: Annotated[
        str | None, typer.Option(help="The community (must match the file's).")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Make a playbook the community's current one; earlier versions are kept.

    Example: shequn playbook apply playbook.toml --community makers
    """
    with errors():
        book = load_playbook(file)
        if community is not None and community != book.community:
            raise ConfigError(
                "--community", f"{file} is the playbook of {book.community!r}, not {community!r}"
            )
        text = file.read_text(encoding="utf-8")
        with open_store(store_location(ctx, store)) as db:
            version, new = db.save_playbook(book.community, text, str(file))
    if new:
        out.print(
            f"applied {file} as version {version.version} of {book.community!r}", markup=False
        )
    else:
        out.print(
            f"{file} is already version {version.version} of {book.community!r}", markup=False
        )


@playbook_app.command("history")
def playbook_history(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="The community.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
    store: StoreOption = None,
) -> None:
    """Every applied version of a community's playbook; the last one is current.

    Example: shequn playbook history --community makers
    """
    with errors(), open_store(store_location(ctx, store)) as db:
        versions = db.playbooks(community)
    if as_json:
        rows = [
            {
                "version": v.version,
                "applied_at": v.applied_at.isoformat() + "Z",
                "sha256": v.sha256,
                "source": v.source,
            }
            for v in versions
        ]
        out.print(json_text(rows), markup=False)
        return
    if not versions:
        out.print(f"no playbook applied to {community!r} yet", markup=False)
        return
    table = Table(show_header=True)
    for column in ("version", "applied (UTC)", "sha256", "source"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version), v.applied_at.strftime("%Y-%m-%d %H:%M"), v.sha256[:12], escape(v.source)
        )
    out.print(table)


@playbook_app.command("clone")
def playbook_clone(
    source: FileArgument,
    group: Annotated[
        list[str], typer.Option("--group", help="A new group as platform:id (repeatable).")
    ],
    community: Annotated[
        str | None, typer.Option(help="The new community (default: the source's).")
    ] = None,
    target: OutOption = None,
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
) -> None:
    """Copy a proven playbook onto new groups (复制), comments and all.

    Example: shequn playbook clone playbook.toml --group telegram:-1009876 --out new.toml
    """
    with errors():
        text = clone_playbook(
            source.read_text(encoding="utf-8"), group, community=community, name=str(source)
        )
        _write(text, target, force)


@playbook_app.command("schema")
def playbook_schema_command(target: OutOption = None) -> None:
    """Print the playbook's JSON Schema (as published in docs/playbook.schema.json).

    Example: shequn playbook schema --out playbook.schema.json
    """
    with errors():
        _write(schema_text(), target, force=True)
