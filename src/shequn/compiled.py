"""The engine core compiled with mypyc: which modules, and whether their builds are current.

``scripts/build-compiled`` (run by ``make install``) compiles :data:`MODULES` in place:
each gets an extension module (``runner.cpython-311-x86_64-linux-gnu.so``) beside its
source, and Python imports the extension, not the ``.py``. An engine edited after the
build would therefore silently not run — so the build records every compiled source's
sha256 in :data:`STAMP`, and :func:`stale` names each extension whose source differs
(or that no build recorded). Importing ``shequn.engines`` warns about them; the tests
fail on them (tests/engines/test_compiled.py). Without extensions the sources run:
pure Python, the same results. docs/decisions/0005-compiled-engines.md.

Never compiled itself, nor imports anything it checks.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import warnings
from collections.abc import Iterable
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any, Final

#: the modules compiled into one mypyc group: the replay's hot path (runner, the five
#: engines, their rules and contract); the classes in action.py, awards.py and
#: contract.py stay plain Python (see each module)
MODULES: Final = (
    "shequn.engines.base",
    "shequn.engines.dedup",
    "shequn.engines.rules",
    "shequn.engines.trust",
    "shequn.engines.moderation",
    "shequn.engines.screening",
    "shequn.engines.metabolism",
    "shequn.engines.checkins",
    "shequn.engines.scoring",
    "shequn.engines.runner",
)
#: the package's directory (``src/shequn`` in a checkout)
PACKAGE: Final = Path(__file__).resolve().parent
#: written by the build: what was compiled, from which sources
STAMP: Final = PACKAGE / "compiled.json"


def source_of(module: str, package: Path = PACKAGE) -> Path:
    """``shequn.engines.runner`` → ``<package>/engines/runner.py``."""
    return package.joinpath(*module.split(".")[1:]).with_suffix(".py")


def file_of(module: str, package: Path = PACKAGE) -> Path:
    """A module's source: ``shequn.events`` → ``<package>/events.py``, a package →
    its ``__init__.py``."""
    folder = package.joinpath(*module.split(".")[1:])
    init = folder / "__init__.py"
    return init if init.is_file() else folder.with_suffix(".py")


def _imports(module: str, package: Path) -> set[str]:
    """The package's own modules (and their parent packages) that ``module`` imports,
    and its own parent packages, read from its source (``TYPE_CHECKING`` imports
    included: mypyc reads those too)."""
    path = file_of(module, package)
    here = module if path.name == "__init__.py" else module.rpartition(".")[0]
    named = {here}  # and its parent packages, imported first
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            named.add(base)
            named.update(f"{base}.{alias.name}" for alias in node.names)
    found = set()
    for name in named:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            candidate = ".".join(parts[:end])
            if parts[0] == package.name and file_of(candidate, package).is_file():
                found.add(candidate)
    return found


def dependencies(modules: Iterable[str] = MODULES, package: Path = PACKAGE) -> list[str]:
    """The package's modules that the compiled ``modules`` import, directly or not: mypyc
    compiles against their types and inlines their ``Final`` constants (runner's
    ``_SEP`` is ``shequn.events.KEY_SEPARATOR``'s value, baked into the C), so the
    compiled code is stale when one of them changes, too."""
    compiled = set(modules)
    seen: set[str] = set()
    todo = list(compiled)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_imports(module, package) - seen)
    return sorted(seen - compiled)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extensions(package: Path = PACKAGE) -> list[Path]:
    """Every extension module in the directories of :data:`MODULES` (built by us or
    left by an old build); one directory listing each, not a walk of the package (the
    check runs at every import of the engines: :func:`stale` takes ≈ 2 ms with the
    sources' hashes, 8 with a walk)."""
    folders = sorted({source_of(m, package).parent for m in MODULES})
    suffixes = tuple(EXTENSION_SUFFIXES)
    found = [p for d in folders if d.is_dir() for p in d.iterdir() if p.name.endswith(suffixes)]
    return sorted(found)


def _module_of(extension: Path, package: Path) -> str:
    stem = extension.name.split(".", 1)[0]
    parts = extension.parent.relative_to(package).parts
    return ".".join((package.name, *parts, stem))


def read_stamp(stamp: Path = STAMP) -> dict[str, Any]:
    """The build's record (``{"modules": {module: {"sha256": …}}, …}``); empty if none."""
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def stale(package: Path = PACKAGE, stamp: Path | None = None) -> list[str]:
    """One sentence per extension module that does not match its source: the source
    changed since the build, or no build recorded it (an old build's leftover); and
    one per module the compiled ones import (:func:`dependencies`) changed since."""
    record = read_stamp(stamp or package / STAMP.name)
    recorded = record.get("modules", {})
    problems = []
    found = extensions(package)
    for extension in found:
        module = _module_of(extension, package)
        source = source_of(module, package)
        entry = recorded.get(module)
        if entry is None:
            problems.append(f"{extension.name}: no build recorded it ({module})")
        elif not source.exists():
            problems.append(f"{extension.name}: its source {source.name} is gone")
        elif entry.get("sha256") != sha256(source):
            problems.append(f"{extension.name}: {source.name} changed since it was compiled")
    if not found:
        return problems
    # the compiled code also holds what it read from the modules it imports
    # (paths as recorded, relative to the package's parent: no look-up per module)
    for module, entry in record.get("depends", {}).items():
        where = str(entry.get("source"))
        try:
            with open(package.parent / where, "rb") as text:
                digest = hashlib.sha256(text.read()).hexdigest()
        except OSError:
            problems.append(f"{where} ({module}), imported by the compiled modules, is gone")
            continue
        if entry.get("sha256") != digest:
            problems.append(
                f"{where} changed since the compiled modules, which import it, were built "
                "(they may hold its old constants and types)"
            )
    return problems


def running(modules: Iterable[str] = MODULES) -> dict[str, bool]:
    """Which of the (imported) ``modules`` run compiled: module → True for an extension."""
    out = {}
    for name in modules:
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None) or ""
        out[name] = where.endswith(tuple(EXTENSION_SUFFIXES))
    return out


def describe() -> str:
    """One line for benchmarks and logs: compiled, pure Python, or mixed (imports
    :data:`MODULES`)."""
    import importlib

    for name in MODULES:
        importlib.import_module(name)
    state = running()
    if all(state.values()):
        return f"compiled (mypyc): all {len(state)} engine modules"
    if not any(state.values()):
        return "pure Python (no compiled engine modules)"
    mixed = ", ".join(n.rsplit(".", 1)[1] for n, on in state.items() if on)
    return f"MIXED: compiled {mixed}; the rest pure Python"


def rebuild_reason(
    built_with: dict[str, str], modules: Iterable[str] = MODULES, package: Path = PACKAGE
) -> str | None:
    """Why the compiled core must be built again, or ``None`` if it is current: by
    content (the stamp's hashes, :func:`stale`), not by file times — a touched or
    reverted source needs no build, a changed module the engines import does.
    ``built_with``: what the build records of itself (Python, mypy, options …)."""
    record = read_stamp(package / STAMP.name)
    if not record:
        return "no build recorded"
    for key, value in built_with.items():
        if record.get(key) != value:
            return f"built with {key} {record.get(key)}, now {value}"
    wanted = sorted(modules)
    if sorted(record.get("modules", {})) != wanted:
        return "the set of compiled modules changed"
    suffix = EXTENSION_SUFFIXES[0]
    for module in wanted:
        source = source_of(module, package)
        if not source.with_name(source.stem + suffix).is_file():
            return f"{module} has no extension module"
    problems = stale(package)
    return "; ".join(problems) if problems else None


def warn_if_stale(package: Path = PACKAGE) -> None:
    """Warn (RuntimeWarning) about every stale extension module: the running code is not
    the source. Rebuild (``make install``) or remove the extensions
    (``scripts/build-compiled --pure``)."""
    problems = stale(package)
    if problems:
        warnings.warn(
            "stale compiled engine modules (they run instead of their sources): "
            + "; ".join(problems)
            + ". Rebuild with `make install`, or run pure Python: scripts/build-compiled --pure",
            RuntimeWarning,
            stacklevel=3,
        )
