"""Modules meet through services and events, not each other's internals: nothing outside
`app/<domain>/` and `schema/<domain>/` imports `app.<domain>.repository` (issue 9)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.relative_to(ROOT).parent.parts  # ("tests", "customer") for tests/customer/test_x.py
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import: resolved against the file's package
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            if module:
                yield module
                yield from (f"{module}.{a.name}" for a in node.names)


def _owner(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[1] if len(parts) > 2 and parts[0] in ("app", "schema") else None


# Crossings allowed for now: none are left (a module calls another's published service
# functions, or reacts to its events). A new crossing fails, and so does a stale entry.
KNOWN: set[str] = set()


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
