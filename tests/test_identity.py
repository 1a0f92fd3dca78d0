"""Identity rules: the Python and the SQL versions agree, and they merge what they should."""

from __future__ import annotations

import re

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shequn.identity import (
    INVISIBLE_CLASS,
    INVISIBLE_MARKS,
    WHITESPACE_CLASS,
    clean_name,
    identity_of,
    identity_sql,
)

NAME_CHARS = st.sampled_from(
    list("abcXYZ 0123456789+()-.~:")
    + list(INVISIBLE_MARKS)
    + ["\u00a0", "\u202f", "\u3000", "\t", "张", "é", "🛠"]
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@settings(max_examples=400, deadline=None)
@given(st.text(NAME_CHARS, max_size=24))
def test_sql_identity_equals_python_identity(con: duckdb.DuckDBPyConnection, name: str) -> None:
    got = con.execute(f"SELECT {identity_sql('$n')}", {"n": name}).fetchone()
    assert got is not None and got[0] == identity_of(name)


@pytest.mark.parametrize(
    ("written", "identity"),
    [
        ("\u202a+49 170 1234567\u202c", "+491701234567"),
        ("+49 170 123-45-67", "+491701234567"),
        ("~ Maria", "Maria"),
        ("~\u00a0Maria ", "Maria"),
        ("Maria\u200e", "Maria"),
        ("Dr: Who", "Dr: Who"),
        ("Ann  Lee", "Ann Lee"),
        ("12345", "12345"),  # too short to be a phone number
        ("张三", "张三"),
    ],
)
def test_written_forms_map_to_one_identity(written: str, identity: str) -> None:
    assert identity_of(written) == identity


@settings(max_examples=400, deadline=None)
@given(
    st.text(
        st.sampled_from([*"ab ~+1", *" ~", *"\t\n\r\x0b\x0c\x00", "\u00a0", "\u200e"]), max_size=8
    )
)
@example("a  b")
@example(" ~ a\tb ")
def test_clean_name_skips_the_substitutions_only_where_they_change_nothing(name: str) -> None:
    visible = re.sub(INVISIBLE_CLASS, "", name)
    expected = re.sub(WHITESPACE_CLASS + "+", " ", visible).strip(" ")
    if expected.startswith("~"):
        expected = expected[1:].lstrip(" ")
    assert clean_name(name) == expected


def test_clean_name_keeps_the_visible_name() -> None:
    assert clean_name("\u2068~ Maria Schmidt\u2069") == "Maria Schmidt"


def test_shequn_duckdb_connections_draw_no_progress_bar() -> None:
    from shequn.duckdb_config import connect

    setting = connect().execute("SELECT current_setting('enable_progress_bar')").fetchall()
    assert setting == [(False,)]
