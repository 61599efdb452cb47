"""Modules meet through services and events, not each other's internals: nothing outside
`app/<domain>/` and `schema/<domain>/` imports `app.<domain>.repository` (issue 9)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def _owner(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[1] if len(parts) > 2 and parts[0] in ("app", "schema") else None


# Today's crossings, to be replaced by published service functions (issue 9, item 4). The list
# only shrinks: a new crossing fails, and so does an entry that no longer happens.
KNOWN = {
    "app/customer/importer.py imports app.tenant.repository",
    "app/customer/service.py imports app.tenant.repository",
    "app/oauth/http.py imports app.tenant.repository",
    "app/oauth/service.py imports app.tenant.repository",
    "app/tenant/service.py imports app.oauth.repository",
    "schema/customer/types.py imports app.oauth.repository",
}


def test_no_module_imports_another_modules_repository():
    domains = {p.parent.name for p in (ROOT / "app").glob("*/repository.py")}
    assert {"customer", "tenant"} <= domains
    offences = []
    for path in [*ROOT.glob("app/**/*.py"), *ROOT.glob("schema/**/*.py"), *ROOT.glob("workers/**/*.py")]:
        owner = _owner(path)
        for name in _imports(path):
            for d in domains:
                if name == f"app.{d}.repository" and owner != d and not (owner == "partner" and d == "oauth"):
                    offences.append(f"{path.relative_to(ROOT)} imports app.{d}.repository")
    found = set(offences)
    assert not found - KNOWN, "new crossings:\n" + "\n".join(sorted(found - KNOWN))
    assert not KNOWN - found, "no longer crossing, remove from KNOWN:\n" + "\n".join(sorted(KNOWN - found))


def test_no_test_file_imports_another():
    offences = []
    for path in ROOT.glob("tests/**/test_*.py"):
        for name in _imports(path):
            if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_"):
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offences, "\n".join(sorted(set(offences)))
