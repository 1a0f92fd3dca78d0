"""The WeChat writer: its variants' files look as the exporters write them, deterministically."""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shequn.cli import app
from shequn.errors import ConfigError
from shequn.simulate import simulate_export


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def chat_csv(export: Path) -> Path:
    (found,) = sorted(export.glob("*.csv"))[:1]
    return found


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        simulate_export(
            format="wechat", variant="pywxdump", members=30, messages=800, days=10, seed=3,
            out=tmp_path / name,
        )  # fmt: skip
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_an_unknown_variant_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="variant"):
        simulate_export(format="wechat", variant="html", out=tmp_path, members=20, messages=50)


def test_memotrace_variants_encodings_and_names(tmp_path: Path) -> None:
    runs = {}
    for variant in ("memotrace", "memotrace-bom", "memotrace-gbk"):
        runs[variant] = simulate_export(
            format="wechat", variant=variant, members=40, messages=1500, days=10, seed=8,
            out=tmp_path / variant,
        )  # fmt: skip
    plain = chat_csv(runs["memotrace"].export_path).read_bytes()
    assert plain.startswith(b"localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,")
    assert runs["memotrace"].export_path.name.endswith("@chatroom)")
    bom = chat_csv(runs["memotrace-bom"].export_path)
    assert bom.name.endswith("_utf8.csv") and bom.read_bytes().startswith(codecs.BOM_UTF8)
    gbk = chat_csv(runs["memotrace-gbk"].export_path).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    text = gbk.decode("gbk")
    assert "\u2005" not in text and "邀请" in text
    rows = list(csv.reader(text.splitlines()))
    assert {len(r) for r in rows[1:] if len(r) > 1} == {12}


def test_pywxdump_pages_and_users(tmp_path: Path) -> None:
    summary = simulate_export(
        format="wechat", variant="pywxdump", members=40, messages=6000, days=10, seed=2,
        out=tmp_path,
    )  # fmt: skip
    export = summary.export_path
    pages = sorted(p.name for p in export.glob("*.csv"))
    room = export.name
    assert pages == [f"{room}_0_5000.csv", f"{room}_5000_10000.csv"]
    users = json.loads((export / "users.json").read_text(encoding="utf-8"))
    assert all(k.startswith("wxid_") and v["nickname"] for k, v in users.items())
    first = (export / pages[0]).read_text(encoding="utf-8").splitlines()[0]
    assert first == "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime"


def test_cli_writes_a_wechat_variant(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["simulate", "--format", "wechat", "--variant", "memotrace-gbk", "--members", "20",
         "--messages", "300", "--days", "5", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "truth.json").exists()
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth["platform"] == "wechat" and truth["export"]["encoding"] == "gbk"
