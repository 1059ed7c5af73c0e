"""The configurable lists behind /report: categories and the referral directory.

Both are data files in `bot/data/` (see the comments in each file), read once per process.
The referral directory can live elsewhere (`HIWAR_REFERRALS_FILE`), so an organisation keeps
its own services outside the installed code; the shipped one holds example entries only.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SHIPPED_REFERRALS = DATA_DIR / "referrals.toml"


@dataclass(frozen=True)
class GrievanceCategory:
    code: str
    labels: dict[str, str]
    safeguarding: bool


@dataclass(frozen=True)
class Referral:
    name: dict[str, str]
    contact: str
    example: bool
    categories: frozenset[str]


def _load(name: str | Path) -> dict[str, Any]:
    with (DATA_DIR / name).open("rb") as handle:
        return tomllib.load(handle)


@cache
def categories() -> tuple[GrievanceCategory, ...]:
    loaded = []
    for entry in _load("grievance_categories.toml")["category"]:
        loaded.append(
            GrievanceCategory(
                code=str(entry["code"]),
                labels={"ar": str(entry["ar"]), "en": str(entry["en"])},
                safeguarding=bool(entry.get("safeguarding", False)),
            )
        )
    codes = [category.code for category in loaded]
    if len(set(codes)) != len(codes):
        raise ValueError("grievance_categories.toml: a category code is listed twice")
    return tuple(loaded)


def category(code: str) -> GrievanceCategory:
    """The category with `code`; an unknown code (removed from the file) reads as itself."""
    for known in categories():
        if known.code == code:
            return known
    return GrievanceCategory(code, {"ar": code, "en": code}, safeguarding=False)


@cache
def referrals(path: Path = SHIPPED_REFERRALS) -> tuple[Referral, ...]:
    """The entries of the referral directory at `path` (an absolute path is used as is)."""
    return tuple(
        Referral(
            name={"ar": str(entry["name_ar"]), "en": str(entry["name_en"])},
            contact=str(entry["contact"]),
            example=bool(entry.get("example", False)),
            categories=frozenset(str(c) for c in entry.get("categories", ["*"])),
        )
        for entry in _load(path).get("referral", [])
    )


def referrals_for(topics: set[str], path: Path = SHIPPED_REFERRALS) -> list[Referral]:
    """Referrals that apply to any of `topics` (risk categories, report category, "urgent").
    Example entries are never among them: a placeholder number must not reach a member."""
    return [
        r
        for r in referrals(path)
        if not r.example and ("*" in r.categories or r.categories & topics)
    ]


def directory_is_placeholder(path: Path = SHIPPED_REFERRALS) -> bool:
    """True while the organisation has not put a real service in its referral directory."""
    return not any(not r.example for r in referrals(path))
