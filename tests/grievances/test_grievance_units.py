"""Parsers and building blocks of the grievance feature: references, risk lexicon, cipher."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from bot.engines.field_encryption import (
    PLAIN_PREFIX,
    SEALED_PREFIX,
    FieldCipher,
    UnreadableField,
    fernet_key_from,
)
from bot.grievances.directory import categories, referrals, referrals_for
from bot.grievances.lexicon import RiskLexicon, default_lexicon, normalise
from bot.grievances.references import (
    ALPHABET,
    format_reference,
    new_reference,
    parse_reference,
)

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
codes = st.text(alphabet=ALPHABET, min_size=7, max_size=7)


def test_new_references_are_well_formed_and_parse_to_themselves() -> None:
    seen = {new_reference() for _ in range(500)}
    assert len(seen) == 500
    for reference in seen:
        assert parse_reference(reference) == reference
        assert not set(reference[3:].replace("-", "")) & set("ILOU")


@given(codes)
def test_every_single_typo_is_detected(body: str) -> None:
    from bot.grievances.references import check_character

    code = body + check_character(body)
    for position in range(8):
        for replacement in ALPHABET:
            if replacement == code[position]:
                continue
            typo = code[:position] + replacement + code[position + 1 :]
            assert parse_reference(format_reference(typo)) is None


@given(codes)
def test_members_may_type_references_loosely(body: str) -> None:
    from bot.grievances.references import check_character

    reference = format_reference(body + check_character(body))
    compact = reference.replace("-", "")
    assert parse_reference(reference.lower()) == reference
    assert parse_reference(compact[2:]) == reference
    assert parse_reference(f"  {compact[:6]} {compact[6:]} ") == reference
    assert parse_reference(reference.translate(ARABIC_INDIC)) == reference
    assert parse_reference(f"\u2068{reference}\u2069") == reference
    confused = reference[3:].replace("0", "O").replace("1", "l")
    assert parse_reference(confused) == reference


@given(st.text(max_size=30))
def test_junk_is_never_a_reference(text: str) -> None:
    parsed = parse_reference(text)
    assert parsed is None or parse_reference(parsed) == parsed


def test_arabic_normalisation_folds_letter_forms_and_marks() -> None:
    assert normalise("أإآٱ") == "اااا"
    assert normalise("مستشفى") == "مستشفي"
    assert normalise("مدرسة") == "مدرسه"
    assert normalise("قَتْـــل") == "قتل"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("هدّدونا بالقتل إذا تكلمنا", "violence"),
        ("وصلتنا تهديدات من الجماعة", "threat"),
        ("يحاولون تجنيد الشباب في القرية", "recruitment"),
        ("فكرت بالانتحار", "self_harm"),
        ("They threatened my brother at the checkpoint", "threat"),
        ("Men were recruiting boys for an armed group", "recruitment"),
        ("Sometimes I want to die", "self_harm"),
        ("وبالسلاح دخلوا البيت", "violence"),
    ],
)
def test_risk_lexicon_flags_dangerous_reports(text: str, category: str) -> None:
    assert category in default_lexicon().categories_in(text)


@pytest.mark.parametrize(
    "text",
    ["The water has been cut for two weeks", "الماء مقطوع منذ أسبوعين في الحي", "skill courses"],
)
def test_ordinary_reports_are_not_flagged(text: str) -> None:
    assert default_lexicon().categories_in(text) == []


def test_a_malformed_lexicon_line_is_refused() -> None:
    with pytest.raises(ValueError, match="line 2"):
        RiskLexicon.from_lines(["threat | kill", "not a category | x"])


def test_categories_and_referrals_are_configured() -> None:
    codes_ = [c.code for c in categories()]
    assert codes_[-1] == "other" and len(codes_) == len(set(codes_)) >= 10
    assert [c.code for c in categories() if c.safeguarding] == ["gbv"]
    assert all(r.name["ar"] and r.name["en"] for r in referrals())
    assert all(r.example for r in referrals()) or referrals_for({"self_harm"})


def test_cipher_round_trips_and_marks_plain_text() -> None:
    plain = FieldCipher()
    assert plain.seal("نص") == f"{PLAIN_PREFIX}نص" and plain.open(plain.seal("نص")) == "نص"
    sealed = FieldCipher(["a passphrase that is long enough to be a key"])
    token = sealed.seal("the checkpoint at the bridge")
    assert token.startswith(SEALED_PREFIX) and "checkpoint" not in token
    assert sealed.open(token) == "the checkpoint at the bridge"
    with pytest.raises(UnreadableField):
        FieldCipher(["another key"]).open(token)
    with pytest.raises(UnreadableField):
        plain.open(token)


def test_fernet_keys_are_used_as_they_are_and_passphrases_derived() -> None:
    key = Fernet.generate_key().decode()
    assert fernet_key_from(key) == key.encode()
    derived = fernet_key_from("correct horse battery staple")
    assert len(derived) == 44 and derived == fernet_key_from("correct horse battery staple")


def test_rotation_reseals_with_the_new_key_and_still_reads_old_values() -> None:
    old, new = FieldCipher(["old key"]), FieldCipher(["new key"])
    rotating = FieldCipher(["new key", "old key"])
    resealed = rotating.reseal(old.seal("text"))
    assert new.open(resealed) == "text"
    assert new.open(rotating.reseal(FieldCipher().seal("was plain"))) == "was plain"


def test_acknowledgement_targets_follow_urgency_and_settings() -> None:
    from datetime import timedelta

    from bot.grievances.policy import policy_from

    policy = policy_from({})
    assert policy.ack_target("urgent", False) == timedelta(hours=2)
    assert policy.ack_target("low", True) == timedelta(hours=2)  # risk words: urgent target
    assert policy.ack_target("medium", False) == timedelta(hours=24)
    assert policy.ack_target("low", False) == timedelta(hours=48)
    custom = policy_from({"HIWAR_ACK_URGENT_HOURS": "1", "HIWAR_ACK_MEDIUM_HOURS": "12"})
    assert custom.ack_target("urgent", False) == timedelta(hours=1)
    assert custom.ack_target("medium", False) == timedelta(hours=12)


def test_example_referrals_never_reach_members() -> None:
    from bot.grievances.directory import directory_is_placeholder

    assert all(not r.example for r in referrals_for({"self_harm", "gbv", "urgent"}))
    assert directory_is_placeholder() == all(r.example for r in referrals())


def test_the_referral_directory_can_be_the_organisations_own_file(tmp_path: Path) -> None:
    from bot.config import ConfigError
    from bot.grievances.directory import SHIPPED_REFERRALS, directory_is_placeholder
    from bot.grievances.policy import policy_from

    own = tmp_path / "referrals.toml"
    own.write_text(
        '[[referral]]\nname_en = "Shelter"\nname_ar = "مأوى"\ncontact = "07700000001"\n'
        'categories = ["gbv"]\n',
        encoding="utf-8",
    )
    policy = policy_from({"HIWAR_REFERRALS_FILE": str(own)})
    assert policy.referrals_file == own.resolve()
    assert not directory_is_placeholder(policy.referrals_file)
    assert [r.contact for r in referrals_for({"gbv"}, policy.referrals_file)] == ["07700000001"]
    assert referrals_for({"threat"}, policy.referrals_file) == []
    assert policy_from({}).referrals_file == SHIPPED_REFERRALS
    for broken in ("missing.toml", "bad.toml", "incomplete.toml"):
        if broken != "missing.toml":
            content = "[[referral" if broken == "bad.toml" else '[[referral]]\ncontact = "1"\n'
            (tmp_path / broken).write_text(content, encoding="utf-8")
        with pytest.raises(ConfigError, match="HIWAR_REFERRALS_FILE"):
            policy_from({"HIWAR_REFERRALS_FILE": str(tmp_path / broken)})
