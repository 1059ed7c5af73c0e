"""Layers run one way (HOUSE_STYLE): services, storage and messages never import `telegram`;
`messages` imports nothing of Hiwar's other packages; a feature package uses another feature
only through the modules that feature names as its public face (`__all__` of its package);
engines use no feature; and no folder holds more than 20 modules side by side."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ("members", "sessions", "surveys", "grievances", "moderation", "broadcasts")
SERVICE_PACKAGES = ("engines", *FEATURES)
NO_TELEGRAM = (
    *(f"bot/{package}" for package in SERVICE_PACKAGES),
    "bot/demo",
    "storage",
    "messages",
)
MAX_MODULES_IN_A_FOLDER = 20
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


def public_face(feature: str) -> set[str]:
    """The modules a feature package lists in `__all__` of its `__init__.py`."""
    tree = ast.parse((ROOT / "bot" / feature / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return {str(name) for name in value}
    return set()


def imported_bot_modules(path: Path) -> Iterator[str]:
    """Every `bot.<package>.<module>` a file imports, with `from bot.x import y` read as `bot.x.y`
    when `y` is a module of that package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("bot."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("bot."):
                continue
            package_dir = ROOT.joinpath(*node.module.split("."))
            for alias in node.names:
                is_module = (package_dir / f"{alias.name}.py").exists() or (
                    package_dir / alias.name
                ).is_dir()
                yield f"{node.module}.{alias.name}" if is_module else node.module


@pytest.mark.parametrize("feature", FEATURES)
def test_features_have_a_public_face_that_exists(feature: str) -> None:
    names = public_face(feature)
    assert names, f"bot/{feature}/__init__.py names no public modules in __all__"
    missing = [name for name in names if not (ROOT / "bot" / feature / f"{name}.py").exists()]
    assert missing == []


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_a_feature_uses_another_only_through_its_public_face(package: str) -> None:
    offenders = []
    for path in python_files(f"bot/{package}"):
        for module in imported_bot_modules(path):
            parts = module.split(".")
            if len(parts) < 2 or parts[1] not in FEATURES or parts[1] == package:
                continue
            if package == "engines":
                offenders.append(f"{path.relative_to(ROOT)}: an engine imports {module}")
            elif len(parts) < 3 or parts[2] not in public_face(parts[1]):
                offenders.append(f"{path.relative_to(ROOT)}: {module} is not public")
    assert offenders == []


def test_the_public_face_check_catches_an_internal_import(tmp_path: Path) -> None:
    """The check above reads `from bot.grievances import submission` as the module it is."""
    sample = tmp_path / "sample.py"
    sample.write_text("from bot.grievances import submission, cases\n", encoding="utf-8")
    assert sorted(imported_bot_modules(sample)) == [
        "bot.grievances.cases",
        "bot.grievances.submission",
    ]
    assert "submission" not in public_face("grievances")


def test_no_folder_holds_more_than_twenty_modules() -> None:
    crowded = {}
    for top in ("bot", "handlers", "admin", "storage", "messages", "tests", "bench"):
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            if "migrations" in folder.parts or "__pycache__" in folder.parts:
                continue
            count = len(list(folder.glob("*.py")))
            if count > MAX_MODULES_IN_A_FOLDER:
                crowded[str(folder.relative_to(ROOT))] = count
    assert crowded == {}
