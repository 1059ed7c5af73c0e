"""/audit in words (issue 18): every action kind the code writes has a phrase in both
languages, and staff read who (name and role), what, when, from what to what and why."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.engines.roles import Role
from bot.moderation.audit_browsing import AuditLine
from bot.moderation.audit_wording import AuditContext, AuditWriter, phrase_key
from messages import Catalogue
from messages.catalogue import LANGUAGES, load_catalogue_sources
from storage.models import Member
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import running_bot, staff_member
from tests.moderation.test_moderation_steps import new_case, reference_for, seed_cases

ROOT = Path(__file__).resolve().parents[2]
CODE_FOLDERS = ("bot", "admin", "handlers", "storage")
AUDIT_CALLS = ("record_action", "_audit")
ADMIN = 9711
MODERATOR = 9712
COLLEAGUE = 9713


def _literal_kinds(node: ast.expr, where: str) -> set[str]:
    """The action kinds an argument can take: literals, or literals on both sides of `if`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literal_kinds(node.body, where) | _literal_kinds(node.orelse, where)
    if isinstance(node, ast.Name):  # a helper passing its own parameter on
        return set()
    raise AssertionError(f"{where}: write the audit action kind as a literal string")


def audit_action_kinds() -> dict[str, str]:
    """Every action kind a `record_action(...)` or `_audit(...)` call in the code writes."""
    found: dict[str, str] = {}
    for folder in CODE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in AUDIT_CALLS:
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                arguments = [k.value for k in node.keywords if k.arg == "action"]
                if name == "_audit" and len(node.args) > 2:
                    arguments.append(node.args[2])
                for argument in arguments:
                    for kind in _literal_kinds(argument, where):
                        found.setdefault(kind, where)
    return found


def test_every_audit_action_kind_the_code_writes_has_a_phrase_in_both_languages() -> None:
    kinds = audit_action_kinds()
    # The enumeration sees the grievance, role, session, survey and broadcast actions.
    assert {"grievance.status", "grievance.note", "role.grant", "session.publish"} <= set(kinds)
    assert {"survey.publish", "survey.close", "broadcast.cancel"} <= set(kinds)
    assert len(kinds) >= 25
    for language in LANGUAGES:
        catalogue = load_catalogue_sources(language)
        missing = {kind: at for kind, at in kinds.items() if phrase_key(kind) not in catalogue}
        assert missing == {}, f"no {language} phrase for {missing}"
        for kind in kinds:
            phrase = catalogue[phrase_key(kind)]
            assert not re.search(r"\b(grievance|role|session|survey)\.", phrase), kind
            assert "=" not in phrase.replace("==", ""), kind


async def test_the_audit_log_reads_as_sentences_in_english_and_arabic(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, ADMIN_IDS=str(ADMIN)) as bot:
        now = bot.clock.now()
        await seed_cases(bot, [new_case(97001, now - timedelta(hours=3), status="in_review")])
        reference = reference_for(97001)
        moderator = await staff_member(bot, MODERATOR, Role.MODERATOR)
        moderator.command("/myname Huda")
        await moderator.reply(timeout=20)
        moderator.command(f"/note {reference} called the municipality")
        await moderator.reply(timeout=20)
        moderator.command(f"/close {reference} Water is back in the street")
        await moderator.reply(timeout=20)
        admin = bot.user(ADMIN, language_code="en", name="Samira")
        granted_after = bot.clock.now()
        admin.command(f"/grant {COLLEAGUE} organiser")
        await admin.reply(timeout=20)

        admin.command("/audit")
        page = (await admin.reply(timeout=20)).content
        assert (
            f"<b>Huda (moderator)</b> changed the status of {reference} from Being reviewed"
            " to Closed. Reason: “Water is back in the street”" in page
        )
        assert f"<b>Huda (moderator)</b> added a note to {reference}" in page
        assert f"<b>Samira (admin)</b> gave user {COLLEAGUE} (name not known yet) the role" in page
        assert "called the municipality" not in page  # a note's text is never shown
        assert "grievance." not in page and "from=" not in page and "in_review" not in page
        assert str(MODERATOR) not in page and str(ADMIN) not in page
        # When: in TIMEZONE (Baghdad, UTC+3).
        # The grant happened between these two moments (a minute may turn in between).
        minutes = {
            (moment + timedelta(hours=3)).strftime("%H:%M")
            for moment in (granted_after, bot.clock.now())
        }
        assert any(f"{minute} · <b>Samira (admin)</b> gave user" in page for minute in minutes)

        # The colleague's name is known once they act; the entries about them then use it.
        colleague = bot.user(COLLEAGUE, language_code="en", name="Basim")
        colleague.command("/stats")
        await colleague.reply(timeout=20)
        admin.command(f"/audit user {COLLEAGUE}")
        about = (await admin.reply(timeout=20)).content
        assert "<b>Samira (admin)</b> gave Basim the role organiser" in about

        arabic = bot.user(ADMIN, language_code="ar", name="Samira")
        async with bot.db.unit_of_work() as uow:
            await uow.session.execute(
                update(Member).where(Member.user_id == ADMIN).values(language="ar")
            )
            await uow.commit()
        arabic.command(f"/audit {reference}")
        trail = (await arabic.reply(timeout=20)).content
        assert (
            f"تغيير حالة البلاغ \u2068{reference}\u2069 من «\u2068قيد المراجعة\u2069»"
            " إلى «\u2068مُغلق\u2069»" in trail
        )
        assert "إضافة ملاحظة إلى البلاغ" in trail
        assert "السبب: «\u2068Water is back in the street\u2069»" in trail
        assert "(\u2068مشرف\u2069)" in trail
        assert "grievance." not in trail and "in_review" not in trail


SAMPLE_DETAILS: dict[str, dict[str, object]] = {
    "grievance.status": {"from": "in_review", "to": "closed"},
    "grievance.priority": {"previous": 0, "to": 2},
    "grievance.assign": {"previous": COLLEAGUE},
    "grievance.duplicate": {"main": "GR-2B3C-4D5E"},
    "grievance.reply_links_defanged": {"links": 2},
    "grievance.export": {"rows": 120, "filters": "g3m"},
    "role.grant": {"role": "organiser"},
    "role.revoke": {"role": "moderator"},
    "session.change": {"fields": ["starts_at", "venue"], "told": 14},
    "session.cancel": {"told": 14},
    "survey.import": {"questions": 12, "warnings": 0},
    "survey.results": {"responses": 240},
    "broadcast.schedule": {"send_at": "2026-03-01T15:00:00+00:00"},
    "broadcast.cancel": {"withdrawn": 300},
}
RECORDS = {"grievance": "GR-7K3M-Q2XA", "user": str(COLLEAGUE), "session": "4", "survey": "2"}


def test_every_kind_reads_as_a_sentence_with_labels_for_what_the_code_records() -> None:
    catalogue = Catalogue(ZoneInfo("Asia/Baghdad"))
    context = AuditContext(
        names={MODERATOR: "Huda", COLLEAGUE: "Basim"},
        roles={MODERATOR: frozenset({Role.MODERATOR})},
        sessions={"4": ("حوار حول المياه", "Dialogue on water")},
        surveys={"2": ("تقييم الاحتياجات", "Needs assessment")},
        reasons={},
    )
    for number, kind in enumerate(sorted(audit_action_kinds())):
        record_type = kind.split(".")[0]
        line = AuditLine(
            number,
            datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
            MODERATOR,
            kind,
            record_type,
            RECORDS.get(record_type, "12"),
            dict(SAMPLE_DETAILS.get(kind, {})),
        )
        for language in LANGUAGES:
            rendered = AuditWriter(catalogue, language, context).line(line)
            assert "Huda" in rendered and kind not in rendered, (kind, rendered)
            assert "?" not in rendered and "=" not in rendered, (kind, rendered)
            for code in ("in_review", "starts_at", "g3m"):
                assert code not in rendered, (kind, rendered)
    english = AuditWriter(catalogue, "en", context)
    status = AuditLine(
        1,
        datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        MODERATOR,
        "grievance.status",
        "grievance",
        "GR-7K3M-Q2XA",
        {"from": "in_review", "to": "closed"},
    )
    assert english.line(status) == (
        "01/03/2026, 12:00 · <b>Huda (moderator)</b> changed the status of GR-7K3M-Q2XA"
        " from Being reviewed to Closed"
    )
