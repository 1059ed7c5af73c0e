"""What `/results ID` sends besides the charts (`bot.surveys.album`): the responses as CSV
and XLSX.

`collect_results` reads the responses and audits that an organiser looked at them;
`render_report` is pure CPU work (spreadsheets) that the handler runs off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from bot.engines.audit import record_action
from bot.engines.disclosure import Wording
from bot.surveys.exports import responses_csv_export, responses_xlsx
from bot.surveys.results import SurveyResults, build_results
from storage.database import UnitOfWork


@dataclass(frozen=True)
class ResultsReport:
    results: SurveyResults
    csv_name: str
    csv: bytes
    xlsx_name: str
    xlsx: bytes


async def collect_results(
    uow: UnitOfWork, survey_id: int, *, actor_id: int | None, now: datetime
) -> SurveyResults:
    """The survey's results (raises SurveyNotFound); audited as an export of responses."""
    results = await build_results(uow, survey_id)
    await record_action(
        uow,
        actor_id=actor_id,
        action="survey.results",
        record_type="survey",
        record_id=str(survey_id),
        details={"responses": results.responses},
        now=now,
    )
    return results


def render_report(
    results: SurveyResults,
    language: str,
    group_labels: Mapping[str, str],
    *,
    words: Wording,
    headers: str = "names",
    timezone: tzinfo = UTC,
    hxl: bool = False,
) -> ResultsReport:
    """`headers`: "names" (the XLSForm names) or "labels" (the question labels in
    `language`), Kobo's two header choices; a form with repeats gets a ZIP of CSVs. Moments
    are written in `timezone`; `hxl` adds the HXL hashtag row under the headers."""
    stem = f"survey-{results.summary.id}-{results.form.form_id}"
    csv_name, csv = responses_csv_export(results, stem, headers, language, timezone, hxl)
    return ResultsReport(
        results,
        csv_name,
        csv,
        f"{stem}.xlsx",
        responses_xlsx(results, language, group_labels, words, headers, timezone, hxl),
    )
