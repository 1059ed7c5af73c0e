"""Real XLSForms (../shared/xlsforms, with their sources): every form pyxform converts imports
and runs in chat (the first 15 questions, in each bot language, through the real bot, on
SQLite and PostgreSQL); every form pyxform refuses is refused with pyxform's own reason, sheet
and row."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from bot.surveys.flow import AGAIN, ENOUGH, MORE_PREFIX, NEXT, SUBMIT_STEP, parse_step
from bot.surveys.lifecycle import survey_with_form
from bot.surveys.presentation import problem_lines
from bot.surveys.xlsform.form import QuestionType, SurveyForm
from bot.surveys.xlsform.reading import FormRefused, read_xlsform
from storage import flows as flow_store
from tests.fake_telegram import SimulatedUser
from tests.fake_telegram.records import SentMessage
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import CATALOGUE, add_member, import_form

REPO = Path(__file__).resolve().parents[2]
# The shared folder sits beside the repository (beside its worktrees' folder, for a worktree).
SHARED = next(
    (
        p
        for p in (REPO.parent / "shared" / "xlsforms", REPO.parent.parent / "shared" / "xlsforms")
        if p.is_dir()
    ),
    REPO.parent / "shared" / "xlsforms",
)
FORMS = sorted(SHARED.glob("*.xls*")) if SHARED.is_dir() else []
needs_forms = pytest.mark.skipif(
    not FORMS, reason=f"real XLSForms not found at {SHARED} (the shared folder beside the repo)"
)
QUESTIONS = 15


def pyxform_verdict(path: Path) -> str | None:
    """None if pyxform converts the form, else its error message."""
    try:
        convert(xlsform=str(path), validate=False, pretty_print=False)
    except PyXFormError as error:
        return str(error)
    return None


VERDICTS = {path.name: pyxform_verdict(path) for path in FORMS}
CONVERTED = [p for p in FORMS if VERDICTS[p.name] is None]
REFUSED = [p for p in FORMS if VERDICTS[p.name] is not None]


@needs_forms
@pytest.mark.parametrize("path", FORMS, ids=[p.name for p in FORMS])
def test_a_real_form_imports_exactly_when_pyxform_converts_it(path: Path) -> None:
    verdict = VERDICTS[path.name]
    if verdict is None:
        read = read_xlsform(path.read_bytes(), path.name)
        assert read.form.questions
        assert SurveyForm.from_json(read.form.to_json()) == read.form
        return
    with pytest.raises(FormRefused) as raised:
        read_xlsform(path.read_bytes(), path.name)
    problem = raised.value.problems[0]
    assert problem.code == "pyxform"
    row = re.search(r"\[row\s*:\s*(\d+)\]", verdict)
    if row:
        assert problem.row == int(row.group(1))
    first_reason = re.split(r"\[row\s*:\s*\d+\]", verdict)
    reason = " ".join((first_reason[1] if row else first_reason[0]).split())[:60]
    assert reason in problem.details["message"]
    sheet = re.search(r"'(survey|choices|settings)' sheet", verdict)
    assert problem.sheet == (sheet.group(1) if sheet else "survey")
    for language in ("en", "ar"):
        line = problem_lines(CATALOGUE, language, [problem])[0]
        assert reason[:40] in line["reason"]
        assert problem.sheet is not None and problem.sheet in line["where"]


def test_the_real_forms_are_there_or_skipped_with_a_reason() -> None:
    if not FORMS:
        pytest.skip(f"real XLSForms not found at {SHARED}")
    assert CONVERTED, "pyxform converts none of the shared forms"


# ----------------------------------------------------------------------------- in chat


def _buttons(message: SentMessage) -> list[tuple[str, str]]:
    return [(label, data) for label, data in message.buttons() if data]


def _value(data: str) -> str:
    return data.split(":", 2)[2] if data.count(":") >= 2 else data


class Answerer:
    """Answers whatever question the bot asks, from what the member sees and the step."""

    def __init__(self, bot: BotHarness, user: SimulatedUser, user_id: int) -> None:
        self.bot, self.user, self.user_id = bot, user, user_id
        self.forms: dict[int, SurveyForm] = {}

    async def state(self) -> Any:
        await self.bot.idle()
        async with self.bot.db.unit_of_work() as uow:
            return await flow_store.load_flow(uow.session, self.user_id)

    async def form(self, survey_id: int) -> SurveyForm:
        if survey_id not in self.forms:
            async with self.bot.db.unit_of_work() as uow:
                self.forms[survey_id] = (await survey_with_form(uow, survey_id))[1]
        return self.forms[survey_id]

    def prompt(self) -> SentMessage:
        message = self.user.last_message()
        current = self.user.api.get_message(message.chat_id, message.message_id)
        return current or message

    def attempts(self, form: SurveyForm, step: str) -> list[tuple[str, str]]:
        """(kind, payload) inputs to try in order until the bot moves on."""
        message = self.prompt()
        buttons = _buttons(message)
        options = [d for _, d in buttons if not _value(d).startswith("~")]
        control = {_value(d): d for _, d in buttons if _value(d).startswith("~")}
        if step.startswith(MORE_PREFIX):
            return [("press", control.get(ENOUGH, "")), ("press", control.get(AGAIN, ""))]
        parsed = parse_step(form, step)
        assert parsed is not None, step
        question = form.questions[parsed[0]]
        kind = question.type
        tries: list[tuple[str, str]] = []
        if NEXT in control:
            return [("press", control[NEXT])]
        if kind in (QuestionType.SELECT_ONE, QuestionType.ACKNOWLEDGE):
            tries = [("press", data) for data in options[:6]]
        elif kind in (QuestionType.SELECT_MULTIPLE, QuestionType.RANK):
            tries = [("toggle", data) for data in options[:4]]
        elif kind in (QuestionType.INTEGER, QuestionType.DECIMAL, QuestionType.RANGE):
            tries = [("text", n) for n in ("2", "1", "5", "10", "0", "25")]
        elif kind is QuestionType.DATE:
            tries = [("text", "2024-01-15"), ("text", "15/6/2020")]
        elif kind is QuestionType.TIME:
            tries = [("text", "10:30")]
        elif kind is QuestionType.DATETIME:
            tries = [("text", "2024-01-15 10:30")]
        elif kind is QuestionType.GEOPOINT:
            tries = [("location", ""), ("text", "33.3152, 44.3661")]
        elif kind in (QuestionType.GEOTRACE, QuestionType.GEOSHAPE):
            tries = [("trace", "33.31 44.36; 33.32 44.37; 33.33 44.35")]
        elif kind in (QuestionType.IMAGE, QuestionType.FILE):
            tries = [("photo", "")]
        elif kind is QuestionType.AUDIO:
            tries = [("voice", "")]
        elif kind is QuestionType.VIDEO:
            tries = [("video", "")]
        else:
            tries = [("text", "Test 12"), ("text", "12")]
        if "~skip" in control:
            tries.append(("press", control["~skip"]))
        return tries

    async def give(self, kind: str, payload: str) -> None:
        message = self.prompt()
        if kind == "press":
            self.user.press(message, data=payload)
        elif kind == "toggle":
            self.user.press(message, data=payload)
            await self.bot.idle()
            refreshed = self.prompt()
            done = next(d for _, d in _buttons(refreshed) if _value(d) == "~done")
            self.user.press(refreshed, data=done)
        elif kind == "text":
            self.user.send(payload)
        elif kind == "trace":  # the points, then Done
            self.user.send(payload)
            await self.bot.idle()
            refreshed = self.prompt()
            done = next(d for _, d in _buttons(refreshed) if _value(d) == "~done")
            self.user.press(refreshed, data=done)
        elif kind == "location":
            self.user.send_location()
        elif kind == "photo":
            self.user.send_photo()
        elif kind == "voice":
            self.user.send_voice()
        elif kind == "video":
            self.user.send_video()

    async def answer(self, limit: int) -> list[str]:
        """Answer up to `limit` questions; the steps answered, in order."""
        answered: list[str] = []
        while len(answered) < limit:
            stored = await self.state()
            assert stored is not None, "the survey flow ended before the review"
            if stored.step == SUBMIT_STEP:
                break
            form = await self.form(int(stored.data["_survey"]))
            moved = False
            for kind, payload in self.attempts(form, stored.step):
                await self.give(kind, payload)
                after = await self.state()
                if after is None or after.step != stored.step:
                    moved = True
                    break
            assert moved, f"no answer accepted at {stored.step}: {self.prompt().content[:300]}"
            if not stored.step.startswith(MORE_PREFIX):
                answered.append(stored.step)
        return answered


async def run_form(bot: BotHarness, path: Path, user_id: int, language: str) -> list[str]:
    survey_id = await import_form(bot, path)
    await add_member(bot, user_id, language)
    user = bot.user(user_id, language)
    user.command(f"/start v{survey_id}")
    answerer = Answerer(bot, user, user_id)
    answered = await answerer.answer(QUESTIONS)
    stored = await answerer.state()
    assert stored is not None
    if stored.step != SUBMIT_STEP:
        assert len(answered) == QUESTIONS
    # Each question was asked in the member's language (the form's own where it lacks it).
    form = await answerer.form(survey_id)
    shown = html.unescape(" ".join(m.content for m in user.messages()))
    for step in answered:
        parsed = parse_step(form, step)
        assert parsed is not None
        wording = form.questions[parsed[0]].labels.get(language, "")
        fixed = " ".join(wording.split("${")[0].split())[:25].strip(" *_")
        if fixed and not any(mark in fixed for mark in "*_#<>[]"):
            assert fixed in " ".join(shown.split()), (step, fixed)
    return answered


@needs_forms
@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("path", CONVERTED, ids=[p.name for p in CONVERTED])
async def test_a_real_form_runs_in_chat(bot: BotHarness, path: Path, language: str) -> None:
    answered = await run_form(bot, path, 9400, language)
    assert answered
    form = read_xlsform(path.read_bytes(), path.name).form
    for step in answered:  # every step is a question of the form, asked in the member's language
        parsed = parse_step(form, step)
        assert parsed is not None
