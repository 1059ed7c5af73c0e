"""The fixed lists used for profiles, targeting and disaggregation: governorates, age groups
and genders. Codes are stored; labels come from the catalogue (`governorate.<code>`, ...)."""

from __future__ import annotations

# The 19 governorates of Iraq, including the Kurdistan Region's four (Erbil, Sulaymaniyah,
# Duhok, Halabja).
GOVERNORATES: tuple[str, ...] = (
    "baghdad",
    "basra",
    "nineveh",
    "erbil",
    "sulaymaniyah",
    "duhok",
    "halabja",
    "kirkuk",
    "anbar",
    "babil",
    "karbala",
    "najaf",
    "diyala",
    "saladin",
    "wasit",
    "maysan",
    "dhi_qar",
    "muthanna",
    "qadisiyyah",
)

AGE_GROUPS: tuple[str, ...] = ("under_18", "18_24", "25_34", "35_49", "50_plus")
GENDERS: tuple[str, ...] = ("female", "male", "prefer_not_to_say")


def governorate_key(code: str) -> str:
    return f"governorate.{code}"


def age_group_key(code: str) -> str:
    return f"age_group.{code}"


def gender_key(code: str) -> str:
    return f"gender.{code}"
