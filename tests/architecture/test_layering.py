"""Layering of the backend's domains, read from the source: SQL only in repositories.

Every domain package is listed; a new domain joins ``DOMAINS`` (import contracts in
pyproject.toml, run by ``make lint``, cover the direction of imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "litemaas"
DOMAINS = (
    "access",
    "admin_tokens",
    "api_keys",
    "audit",
    "auth",
    "backups",
    "banners",
    "branding",
    "jobs",
    "models_catalog",
    "playground",
    "settings_admin",
    "subscriptions",
    "usage",
    "users",
)
# Domains that hold no table of their own (the playground works through api_keys' service).
WITHOUT_SQL = {"playground"}
# What a service may still take from SQLAlchemy: the session type and its integrity errors.
ALLOWED_SQLALCHEMY = {"sqlalchemy.ext.asyncio", "sqlalchemy.exc"}
QUERY_METHODS = {"execute", "scalar", "scalars", "stream", "stream_scalars"}


def _modules(domain: str) -> list[Path]:
    return sorted((PACKAGE / domain).glob("*.py"))


def _sql_uses(path: Path) -> list[str]:
    """Lines of ``path`` that build or run SQL: SQLAlchemy imports or session query calls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            if node.module not in ALLOWED_SQLALCHEMY:
                found.append(f"{path.name}:{node.lineno} from {node.module} import ...")
        elif isinstance(node, ast.Import):
            found += [
                f"{path.name}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith("sqlalchemy")
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("session", "db")
            and (node.func.attr in QUERY_METHODS or node.func.attr in ("get", "add"))
        ):
            found.append(f"{path.name}:{node.lineno} {node.func.value.id}.{node.func.attr}(...)")
    return found


@pytest.mark.parametrize("domain", DOMAINS)
def test_sql_lives_only_in_the_repository(domain):
    outside = [use for path in _modules(domain) if path.name != "repository.py" for use in _sql_uses(path)]
    assert outside == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_repository_is_imported_only_by_its_own_domain(domain):
    repository = f"litemaas.{domain}.repository"
    importers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE / domain:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if repository in names:
                importers.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert importers == []


def test_the_checks_see_sql_where_it_is():
    # The scan itself must be able to fail: every repository it approves of does hold SQL.
    for domain in DOMAINS:
        repository = PACKAGE / domain / "repository.py"
        if domain in WITHOUT_SQL:
            assert not repository.exists(), domain
        else:
            assert _sql_uses(repository), domain
