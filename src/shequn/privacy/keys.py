"""The store's privacy key and the keyed digests made with it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

from shequn.store.base import Store

SETTING: Final = "privacy_key"


def privacy_key(store: Store) -> bytes:
    """The store's secret (created on first use); pseudonyms and fingerprints use it.

    It lives in the store so every import into the same store agrees; whoever can read
    the store can recompute pseudonyms, so share exports of the store, not the store.
    """
    value = store.setting(SETTING)
    if value is None:
        value = secrets.token_hex(32)
        store.set_setting(SETTING, value)
    return bytes.fromhex(value)


def digest(key: bytes, *parts: str) -> str:
    """A short, stable, keyed code for ``parts`` (lower-case base32, 16 characters)."""
    mac = hmac.new(key, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode("ascii").lower()


def fingerprint(key: bytes, platform: str, identity: str) -> str:
    """How a forgotten identity is remembered: a keyed digest, never the identity."""
    return digest(key, "forgotten", platform, identity)
