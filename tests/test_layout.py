"""The rooms show the pipeline: plain code in lib/ (by stage), reports/ and generate/ knows nothing of
Dagster; the Dagster glue lives under defs/, which only the entry points and the tests import."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jn_credit_dagster"
ENTRY_POINTS = {"definitions.py", "celery_app.py", "cli.py"}  # they run Dagster: they may import defs/
STAGES = {"common", "ingest", "warehouse", "indicators"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return found


def _files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _files("lib", "reports", "generate"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_plain_code_knows_nothing_of_dagster(path):
    bad = {m for m in _imports(path) if m.split(".")[0] in ("dagster", "dagster_celery", "dagster_postgres")
           or m.startswith("jn_credit_dagster.defs")}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_only_entry_points_import_defs():
    outside = [p for p in PACKAGE.rglob("*.py")
               if p.relative_to(PACKAGE).parts[0] != "defs" and not (p.parent == PACKAGE and p.name in ENTRY_POINTS)]
    offenders = {str(p.relative_to(PACKAGE)) for p in outside
                 if any(m.startswith("jn_credit_dagster.defs") for m in _imports(p))}
    assert not offenders


def test_lib_is_split_by_stage():
    lib = PACKAGE / "lib"
    assert {p.name for p in lib.iterdir() if p.is_dir() and p.name != "__pycache__"} == STAGES
    assert [p.name for p in lib.glob("*.py")] == ["__init__.py"]  # no module outside a stage
