"""Timezones: validating IANA names and finding the machine's own."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from shequn.errors import ConfigError


def validate_timezone(name: str) -> str:
    """``name`` if it is an IANA timezone, else a ConfigError that says so."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "--timezone",
            f"{name!r} is not an IANA timezone (e.g. Asia/Shanghai, Europe/Berlin, UTC)",
        ) from None
    return name


def machine_timezone() -> str:
    """This machine's IANA timezone: $TZ, /etc/timezone or /etc/localtime, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    timezone_file = Path("/etc/timezone")
    if timezone_file.exists():
        candidates.append(timezone_file.read_text().strip())
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    known = available_timezones()
    for candidate in candidates:
        if candidate in known:
            return candidate
    return "UTC"
