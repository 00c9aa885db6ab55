"""The layers hold, read from the source itself (ast), not from a convention:

* one way in: the audit log, sessions and accounts are written only in service/ and store/
  (no `append_audit`, no session `add`/`delete`/`execute(delete|update|insert)`, no row
  attribute set inside `with ....session()`, no account/session row built elsewhere), and no
  interface calls the set-up primitive `create_account`;
* web/ imports no private (`_name`) of api/, nor api/ of web/;
* the lower layers (vision, video, tracking, matching, pipeline, domain) import nothing of
  store/, service/, api/, web/ or cli/;
* api/, web/ and service/ have no import cycle (imports under TYPE_CHECKING do not count).

Each check is also run on a small bad module, so that it is seen to fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "openlfr"
WRITERS = {"service", "store"}
INTERFACES = {"api", "web", "cli"}
LOWER = {"vision", "video", "tracking", "matching", "pipeline", "domain"}
UPPER = ("openlfr.store", "openlfr.service", "openlfr.api", "openlfr.web", "openlfr.cli")
SESSION_WRITES = {"add", "add_all", "delete", "merge", "flush", "commit", "bulk_save_objects"}
WRITE_STATEMENTS = {"delete", "update", "insert"}
ROW_CLASSES = {"Account", "AccountGrant", "WebSession", "ExceptionalRequest", "AuditEntry"}


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _session_names(tree: ast.AST) -> Iterator[tuple[str, ast.With]]:
    """`with x.session() as s` (and `with store.session() as s, ...`): the names bound."""
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                expr = item.context_expr
                if (
                    isinstance(expr, ast.Call)
                    and _call_name(expr) == "session"
                    and isinstance(item.optional_vars, ast.Name)
                ):
                    yield item.optional_vars.id, node


def write_violations(source: str, *, interface: bool) -> list[str]:
    """Writes to the store in a module outside service/ and store/ (line: what)."""
    tree = ast.parse(source)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if alias.name == "append_audit":
                    out.append(f"{node.lineno}: imports append_audit")
                if node.module == "sqlalchemy" and alias.name in WRITE_STATEMENTS:
                    out.append(f"{node.lineno}: imports sqlalchemy {alias.name}")
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "append_audit":
                out.append(f"{node.lineno}: calls append_audit")
            if name in ROW_CLASSES and isinstance(node.func, ast.Name):
                out.append(f"{node.lineno}: builds a {name} row")
            if interface and name == "create_account":
                out.append(f"{node.lineno}: calls the set-up primitive create_account")
    for name, block in _session_names(tree):
        for node in ast.walk(block):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
            ):
                if node.func.attr in SESSION_WRITES:
                    out.append(f"{node.lineno}: {name}.{node.func.attr}(...) in a session")
                if node.func.attr == "execute" and any(
                    isinstance(a, ast.Call) and _call_name(a) in WRITE_STATEMENTS
                    for a in ast.walk(node)
                ):
                    out.append(f"{node.lineno}: {name}.execute(delete/update/insert)")
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign | ast.AnnAssign)
                else []
            )
            for target in targets:
                for t in ast.walk(target):
                    if isinstance(t, ast.Attribute) and isinstance(t.ctx, ast.Store):
                        out.append(f"{node.lineno}: sets a row's .{t.attr} in a session")
    return out


def _imports(tree: ast.AST, *, skip_type_checking: bool) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every import, in functions too."""
    skipped: set[int] = set()
    if skip_type_checking:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped |= {id(n) for b in node.body for n in ast.walk(b)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]


def private_violations(source: str, other: str) -> list[str]:
    """Private names of the package `other` (e.g. "openlfr.api") imported or used."""
    tree = ast.parse(source)
    out, aliases = [], set()
    for line, module, names in _imports(tree, skip_type_checking=False):
        if module == other or module.startswith(other + "."):
            out += [f"{line}: imports {module}.{n}" for n in names if n.startswith("_")]
            if not names:
                aliases.add(module)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == other.rpartition(".")[0]:
            aliases |= {a.asname or a.name for a in node.names}
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(other):
            aliases |= {a.asname or a.name for a in node.names if not a.name.startswith("_")}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and ast.unparse(node.value) in aliases
        ):
            out.append(f"{node.lineno}: uses {ast.unparse(node)}")
    return out


def upward_violations(source: str) -> list[str]:
    tree = ast.parse(source)
    return [
        f"{line}: imports {module}"
        for line, module, names in _imports(tree, skip_type_checking=False)
        for full in [module, *(f"{module}.{n}" for n in names)]
        if full.startswith(UPPER)
    ]


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def import_graph(sources: dict[str, str], within: set[str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, source in sources.items():
        if layer(module) not in within:
            continue
        edges = graph.setdefault(module, set())
        for _, target, names in _imports(ast.parse(source), skip_type_checking=True):
            # `from pkg import mod` depends on pkg.mod; `from pkg import name` on pkg.
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in sources]
            for full in subs or [target]:
                if full in sources and layer(full) in within and full != module:
                    edges.add(full)
    return graph


SOURCES = {module: path.read_text() for module, path in modules()}


@pytest.mark.parametrize(
    "module",
    [m for m in SOURCES if layer(m) not in WRITERS],
)
def test_writes_go_through_service(module: str) -> None:
    found = write_violations(SOURCES[module], interface=layer(module) in INTERFACES)
    assert not found, f"{module} writes to the store outside service/: {found}"


@pytest.mark.parametrize(
    ("module", "other"),
    [(m, "openlfr.api") for m in SOURCES if layer(m) == "web"]
    + [(m, "openlfr.web") for m in SOURCES if layer(m) == "api"],
)
def test_no_private_names_across_api_and_web(module: str, other: str) -> None:
    found = private_violations(SOURCES[module], other)
    assert not found, f"{module} uses private names of {other}: {found}"


@pytest.mark.parametrize("module", [m for m in SOURCES if layer(m) in LOWER])
def test_lower_layers_know_nothing_above(module: str) -> None:
    found = upward_violations(SOURCES[module])
    assert not found, f"{module} imports a layer above it: {found}"


def test_api_web_and_service_have_no_import_cycle() -> None:
    cycles = import_cycles(import_graph(SOURCES, {"api", "web", "service"}))
    assert not cycles, f"import cycles: {cycles}"


# web/ meets api/ in api.deps (and the range-checked types of api.params), per DESIGN.md section 2:
# what a page shares with an api route is a use-case, in service/ (the enrolment upload is
# service/enrol_uploads, the search form service/retro_search_form, the audit export
# reports/audit_export), and the HTTP glue both need (an upload's size-checked dependency, a
# file read from a form) is in api.deps.
WEB_MAY_IMPORT = {"openlfr.api.deps", "openlfr.api.params"}


def web_api_imports(sources: dict[str, str]) -> set[tuple[str, str]]:
    out = set()
    for module, source in sources.items():
        if layer(module) != "web":
            continue
        for _, target, names in _imports(ast.parse(source), skip_type_checking=False):
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in sources]
            for full in subs or [target]:
                if full.startswith("openlfr.api") and full not in WEB_MAY_IMPORT:
                    out.add((module, full))
    return out


def test_web_meets_api_only_in_deps() -> None:
    extra = web_api_imports(SOURCES)
    assert not extra, f"web imports api beyond api.deps: {sorted(extra)} (call service/)"


def test_the_web_api_check_finds_another_meeting_point() -> None:
    sources = {
        "openlfr.web.x": "from openlfr.api.routes_ops import a\nfrom openlfr.api import deps\n",
        "openlfr.api.routes_ops": "",
        "openlfr.api.deps": "",
    }
    assert web_api_imports(sources) == {("openlfr.web.x", "openlfr.api.routes_ops")}


# Each check, on a module that breaks it: a check that cannot fail proves nothing.
BAD_WRITES = """
from openlfr.store import append_audit
from sqlalchemy import delete

def f(store, account_id):
    with store.session() as s:
        s.add(WebSession(token_sha256="x"))
        s.execute(delete(WebSession).where(WebSession.account_id == account_id))
        row = s.get(Account, account_id)
        row.disabled = True
        append_audit(s, actor="a")
    create_account(store, username="x")
"""


def test_the_write_check_finds_each_kind_of_write() -> None:
    found = " | ".join(write_violations(BAD_WRITES, interface=True))
    for what in ("imports append_audit", "imports sqlalchemy delete", "s.add(", "builds a "
                 "WebSession row", "s.execute(delete", "sets a row's .disabled",
                 "calls append_audit", "create_account"):  # fmt: skip
        assert what in found, (what, found)
    reads = "def f(store):\n    with store.session() as s:\n        return s.get(Account, 1)\n"
    assert write_violations(reads, interface=True) == []


def test_the_private_check_finds_private_imports_and_uses() -> None:
    bad = (
        "from openlfr.api.deps import _check_csrf\nfrom openlfr.api import routes_auth\n"
        "x = routes_auth._secret\n"
    )
    found = private_violations(bad, "openlfr.api")
    assert len(found) == 2 and "_check_csrf" in found[0] and "_secret" in found[1], found
    assert private_violations("from openlfr.api.deps import require\n", "openlfr.api") == []


def test_the_upward_check_and_the_cycle_check_fail_when_they_should() -> None:
    assert upward_violations("def f():\n    from openlfr.store import models\n")
    assert upward_violations("from openlfr import service\n")
    assert not upward_violations("from openlfr.domain import rules\n")
    sources = {
        "openlfr.api.a": "from openlfr.api import b\n",
        "openlfr.api.b": "def f():\n    from openlfr.web.c import g\n",
        "openlfr.web.c": "from openlfr.api.a import x\n",
        "openlfr.api.d": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from openlfr.api.a import x\n",
    }
    assert import_cycles(import_graph(sources, {"api", "web"})) == [
        ["openlfr.api.a", "openlfr.api.b", "openlfr.web.c"]
    ]
