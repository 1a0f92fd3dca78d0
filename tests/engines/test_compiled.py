"""The compiled engine core (shequn/compiled.py): stale extension modules are caught.

An extension module beside its source is imported instead of it, so an engine edited
after ``make install`` would silently not run. The build stamps each compiled source's
sha256; these tests check the comparison on a made-up package, and this tree itself
(no stale extension; compiled when ``make test`` says it should be:
``SHEQUN_EXPECT_COMPILED``).
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import json
import os
from dataclasses import MISSING
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from shequn import compiled
from shequn.engines.base import Action, EngineEvent

#: this interpreter's own extension suffix (``.cpython-311-x86_64-linux-gnu.so`` here)
SUFFIX = EXTENSION_SUFFIXES[0]


def _package(tmp_path: Path) -> Path:
    """A made-up package ``shequn`` with one compiled module, engines/fast.py, stamped."""
    package = tmp_path / "shequn"
    (package / "engines").mkdir(parents=True)
    source = package / "engines" / "fast.py"
    source.write_text("X = 1\n", encoding="utf-8")
    (package / "engines" / f"fast{SUFFIX}").write_bytes(b"not really an extension")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    stamp = {"modules": {"shequn.engines.fast": {"sha256": digest}}}
    (package / "compiled.json").write_text(json.dumps(stamp), encoding="utf-8")
    return package


def test_a_stamped_extension_is_current(tmp_path: Path) -> None:
    assert compiled.stale(_package(tmp_path)) == []


def test_an_edited_source_makes_its_extension_stale(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "engines" / "fast.py").write_text("X = 2\n", encoding="utf-8")
    assert compiled.stale(package) == [f"fast{SUFFIX}: fast.py changed since it was compiled"]


def test_an_extension_no_build_recorded_is_stale(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "engines" / "slow.py").write_text("Y = 1\n", encoding="utf-8")
    (package / "engines" / f"slow{SUFFIX}").write_bytes(b"left by an old build")
    (package / "compiled.json").unlink()
    assert compiled.stale(package) == [
        f"fast{SUFFIX}: no build recorded it (shequn.engines.fast)",
        f"slow{SUFFIX}: no build recorded it (shequn.engines.slow)",
    ]


def test_an_extension_whose_source_is_gone_is_stale(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "engines" / "fast.py").unlink()
    assert compiled.stale(package) == [f"fast{SUFFIX}: its source fast.py is gone"]


def test_a_stale_extension_warns(tmp_path: Path) -> None:
    package = _package(tmp_path)
    compiled.warn_if_stale(package)  # current: silent (warnings are errors here)
    (package / "engines" / "fast.py").write_text("X = 3\n", encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="fast.py changed since it was compiled"):
        compiled.warn_if_stale(package)


def _with_dependency(tmp_path: Path) -> Path:
    """The made-up package, its compiled fast.py importing a constant from consts.py
    (which imports ``shequn.deeper``), stamped with both as the build records them."""
    package = _package(tmp_path)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "engines" / "__init__.py").write_text("", encoding="utf-8")
    (package / "engines" / "fast.py").write_text(
        "from shequn.consts import SEP\nX = SEP\n", encoding="utf-8"
    )
    (package / "consts.py").write_text("from . import deeper\nSEP = '/'\n", encoding="utf-8")
    (package / "deeper.py").write_text("import json\n", encoding="utf-8")
    (package / "unused.py").write_text("Z = 1\n", encoding="utf-8")

    def digest(path: Path) -> dict[str, str]:
        source = str(path.relative_to(tmp_path))
        return {"source": source, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}

    stamp = {
        "modules": {"shequn.engines.fast": digest(package / "engines" / "fast.py")},
        "depends": {
            "shequn": digest(package / "__init__.py"),
            "shequn.consts": digest(package / "consts.py"),
            "shequn.deeper": digest(package / "deeper.py"),
            "shequn.engines": digest(package / "engines" / "__init__.py"),
        },
    }
    (package / "compiled.json").write_text(json.dumps(stamp), encoding="utf-8")
    return package


def test_dependencies_are_the_package_modules_the_compiled_ones_import(tmp_path: Path) -> None:
    package = _with_dependency(tmp_path)
    assert compiled.dependencies(["shequn.engines.fast"], package) == [
        "shequn",
        "shequn.consts",
        "shequn.deeper",
        "shequn.engines",
    ]


def test_a_changed_dependency_makes_the_compiled_modules_stale(tmp_path: Path) -> None:
    """mypyc inlines a ``Final`` constant imported from an uncompiled module (and
    compiles against its types): the extension is stale when that module changes."""
    package = _with_dependency(tmp_path)
    assert compiled.stale(package) == []
    (package / "deeper.py").write_text("import re\n", encoding="utf-8")
    assert compiled.stale(package) == [
        "shequn/deeper.py changed since the compiled modules, which import it, were built "
        "(they may hold its old constants and types)"
    ]
    (package / "unused.py").write_text("Z = 2\n", encoding="utf-8")  # not imported
    assert len(compiled.stale(package)) == 1
    (package / "consts.py").unlink()
    assert compiled.stale(package) == [
        "shequn/consts.py (shequn.consts), imported by the compiled modules, is gone",
        "shequn/deeper.py changed since the compiled modules, which import it, were built "
        "(they may hold its old constants and types)",
    ]
    # without extensions nothing compiled runs: nothing is stale
    (package / "engines" / f"fast{SUFFIX}").unlink()
    assert compiled.stale(package) == []


def test_the_runner_depends_on_the_events_module() -> None:
    """The runner's ``_SEP`` is ``shequn.events.KEY_SEPARATOR``, inlined when compiled."""
    assert "shequn.events" in compiled.dependencies()
    assert not set(compiled.dependencies()) & set(compiled.MODULES)
    depends = compiled.read_stamp().get("depends")
    if depends is not None:  # built: the stamp records them all
        assert sorted(depends) == compiled.dependencies()


def test_a_build_is_redone_by_content_not_by_file_times(tmp_path: Path) -> None:
    """``make install`` runs ``scripts/build-compiled --if-stale``: it builds again when a
    compiled source, a module they import, the toolchain or the set changed, or an
    extension is missing — not when a source was only touched, or edited and reverted."""
    package = _with_dependency(tmp_path)
    record = json.loads((package / "compiled.json").read_text(encoding="utf-8"))
    record["python"] = "3.11.7"
    (package / "compiled.json").write_text(json.dumps(record), encoding="utf-8")
    fast = ["shequn.engines.fast"]
    assert compiled.rebuild_reason({"python": "3.11.7"}, fast, package) is None
    source = package / "engines" / "fast.py"
    os.utime(source, (1, 2_000_000_000))  # touched: newer than the build
    before = source.read_text(encoding="utf-8")
    source.write_text(before + "# edited\n", encoding="utf-8")
    assert "fast.py changed" in str(compiled.rebuild_reason({}, fast, package))
    source.write_text(before, encoding="utf-8")  # reverted
    assert compiled.rebuild_reason({"python": "3.11.7"}, fast, package) is None
    (package / "deeper.py").write_text("import re\n", encoding="utf-8")
    assert "deeper.py changed" in str(compiled.rebuild_reason({}, fast, package))
    (package / "deeper.py").write_text("import json\n", encoding="utf-8")
    assert compiled.rebuild_reason({"python": "3.12.1"}, fast, package) == (
        "built with python 3.11.7, now 3.12.1"
    )
    assert compiled.rebuild_reason({}, [*fast, "shequn.engines.slow"], package) == (
        "the set of compiled modules changed"
    )
    (package / "engines" / f"fast{SUFFIX}").unlink()
    assert compiled.rebuild_reason({}, fast, package) == (
        "shequn.engines.fast has no extension module"
    )
    (package / "compiled.json").unlink()
    assert compiled.rebuild_reason({}, fast, package) == "no build recorded"


def test_this_tree_has_no_stale_extension() -> None:
    assert compiled.stale() == []
    recorded = compiled.read_stamp().get("modules")
    if recorded is not None:  # built: the stamp names exactly the compiled set
        assert sorted(recorded) == sorted(compiled.MODULES)


def test_the_engines_run_compiled_when_the_build_says_so() -> None:
    """All compiled or none (a mix means a failed or partial build); all of them under
    ``make test`` (``SHEQUN_EXPECT_COMPILED=1``), none with ``COMPILE=0``."""
    for name in compiled.MODULES:
        importlib.import_module(name)
    state = compiled.running()
    expected = os.environ.get("SHEQUN_EXPECT_COMPILED")
    if expected == "1":
        assert all(state.values()), state
    elif expected == "0":
        assert not any(state.values()), state
    else:
        assert all(state.values()) or not any(state.values()), state
    assert compiled.describe().startswith("compiled" if all(state.values()) else "pure Python")


def test_engine_event_init_takes_its_fields_in_order_with_their_defaults() -> None:
    """EngineEvent's ``__init__`` is written out (a generated one runs as Python code
    even compiled): it must stay what the dataclass would generate. Read from the
    source (a compiled ``__init__`` shows no signature)."""
    tree = ast.parse(compiled.source_of("shequn.engines.base").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "EngineEvent")
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    args = init.args
    assert not (args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs)
    names = [a.arg for a in args.args[1:]]
    defaults = [ast.literal_eval(d) for d in args.defaults]
    defaults = [MISSING] * (len(names) - len(defaults)) + defaults
    fields = dataclasses.fields(EngineEvent)
    assert names == [f.name for f in fields]
    assert defaults == [f.default for f in fields]
    action = Action("warn", "g", "m", 7, "moderation", "why")
    values = ("k", "kd", "g", 7, "m", "a", "t", "p", "r", ("x",), "at", "f", True, "j", "e")
    event = EngineEvent(*values, "n", action)  # every field set, positionally
    assert tuple(getattr(event, f.name) for f in fields) == (*values, "n", action)
