"""Layers run one way (HOUSE_STYLE): services, storage and messages never import `telegram`;
`messages` imports nothing of Hiwar's other packages."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NO_TELEGRAM = ("bot/services", "storage", "messages")
HIWAR_PACKAGES = ("bot", "handlers", "storage", "admin")


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported_modules(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def top_level(module: str) -> str:
    return module.split(".", 1)[0]


@pytest.mark.parametrize("folder", NO_TELEGRAM)
def test_services_storage_and_messages_never_import_telegram(folder: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in python_files(folder)
        for module in imported_modules(path)
        if top_level(module) == "telegram"
    ]
    assert python_files(folder), f"no python files under {folder}"
    assert offenders == []


def test_messages_is_a_leaf() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in python_files("messages")
        for module in imported_modules(path)
        if top_level(module) in HIWAR_PACKAGES
    ]
    assert offenders == []
