"""What `/results ID` shows in the chat: one summary message, then the charts as an album.

Every choice question becomes one chart (more if its options do not fit on a phone, see
`bot.surveys.charts.split_rows`), sent as a photo so it shows inline and opens full size. The
photo's caption has the same figures as text (counts with percentages, and the breakdown by
governorate, gender and age group when it fits), at most 1024 UTF-16 units as Telegram
allows. Counts are the ones `bot.surveys.results` released after disclosure control: a
suppressed count has no percentage. Every word comes from the catalogue and every number is in
the reader's digits (Arabic-Indic in Arabic), the same in chart, caption and message.

Pure CPU work (the charts); the handler runs `results_album` off the event loop.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.engines.disclosure import wording
from bot.surveys.charts import ChartRow, ChartWords, bar_chart_png, split_rows
from bot.surveys.presentation import breakdown_variables, figure_text, percentage
from bot.surveys.results import ChoiceResult, SurveyResults
from messages import Catalogue

CAPTION_LIMIT = 1024  # UTF-16 units of visible text (Telegram's limit for a caption)
MESSAGE_LIMIT = 4096
ALBUM_LIMIT = 10  # photos in one album (sendMediaGroup)
SUMMARY_QUESTIONS = 40
SUMMARY_LABEL = 90  # characters of a question label in the summary
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class ChartPhoto:
    filename: str
    png: bytes
    caption: str  # HTML


@dataclass(frozen=True)
class ResultsAlbum:
    summary: str  # HTML, one message
    photos: tuple[ChartPhoto, ...]


def visible_length(markup: str) -> int:
    """Length of HTML `markup` as Telegram counts it: the text without tags, in UTF-16 units."""
    text = html.unescape(_TAG.sub("", markup))
    return len(text.encode("utf-16-le")) // 2


def album_batches(photos: Sequence[ChartPhoto]) -> list[list[ChartPhoto]]:
    """Photos in albums of at most ten, as even as possible (11 → 6 + 5, never 10 + 1)."""
    if not photos:
        return []
    albums = -(-len(photos) // ALBUM_LIMIT)
    size, extra = divmod(len(photos), albums)
    batches, start = [], 0
    for index in range(albums):
        end = start + size + (1 if index < extra else 0)
        batches.append(list(photos[start:end]))
        start = end
    return batches


def _first_fitting(candidates: Sequence[str], limit: int) -> str:
    for candidate in candidates:
        if visible_length(candidate) <= limit:
            return candidate
    return candidates[-1]


class _Writer:
    def __init__(
        self,
        catalogue: Catalogue,
        language: str,
        results: SurveyResults,
        labels: Mapping[str, str],
    ) -> None:
        self.catalogue, self.language, self.results = catalogue, language, results
        self.labels = dict(labels)
        self.words = wording(catalogue, language)

    def plain(self, key: str, **variables: Any) -> str:
        return self.catalogue.plain(self.language, f"surveys.results.{key}", **variables)

    def render(self, key: str, **variables: Any) -> str:
        return self.catalogue.render(self.language, f"surveys.results.{key}", **variables)

    def title(self) -> str:
        summary = self.results.summary
        return summary.title_ar if self.language == "ar" else summary.title_en

    def shown(self, count_text: str, percent: object) -> str:
        if percent is None:
            return count_text
        return self.plain("share", count=count_text, percent=percent)

    def rows(self, result: ChoiceResult) -> list[ChartRow]:
        rows = []
        for option, count in zip(result.question.options, result.counts, strict=True):
            percent = percentage(count, result.respondents)
            share = None
            if percent is not None and count.value is not None and result.respondents.value:
                share = count.value / result.respondents.value
            text = figure_text(self.language, self.words, count)
            rows.append(ChartRow(option.labels[self.language], self.shown(text, percent), share))
        return rows

    def caption(self, result: ChoiceResult, parts: int) -> str:
        variables = breakdown_variables(self.catalogue, self.language, result, self.labels)
        counts = [
            {"label": c["label"], "figure": self.shown(c["count"], c["percent"])}
            for c in variables["counts"]
        ]
        common = {"label": variables["label"], "respondents": variables["respondents"]}
        common |= {"part": 1, "parts": parts}

        def caption(listed: int, dimensions: list[Any], in_xlsx: bool) -> str:
            return self.render(
                "chart_caption",
                **common,
                counts=counts[:listed],
                more=len(counts) - listed,
                dimensions=dimensions,
                in_xlsx=in_xlsx,
            )

        candidates = [caption(len(counts), variables["dimensions"], False)]
        candidates += [caption(listed, [], True) for listed in range(len(counts), -1, -1)]
        return _first_fitting(candidates, CAPTION_LIMIT)

    def photos(self, result: ChoiceResult, stem: str) -> list[ChartPhoto]:
        rtl = self.language == "ar"
        respondents = figure_text(self.language, self.words, result.respondents)
        footer = self.plain("chart_footer", title=self.title(), responses=self.results.responses)
        label = result.question.labels[self.language]
        subtitle = self.plain("chart_subtitle", respondents=respondents)
        if result.repeat_labels is not None:
            group = result.repeat_labels.get(self.language) or next(
                iter(result.repeat_labels.values())
            )
            subtitle = self.plain("chart_subtitle_repeat", respondents=respondents, group=group)

        def words(part: int, parts: int) -> ChartWords:
            title = self.plain("chart_title", label=label, part=part, parts=parts)
            return ChartWords(title, subtitle, footer, rtl)

        chunks = split_rows(self.rows(result), words(9, 9))
        photos = []
        for index, chunk in enumerate(chunks, start=1):
            png = bar_chart_png(chunk, words(index, len(chunks)))
            if index == 1:
                caption = self.caption(result, len(chunks))
            else:
                caption = self.render(
                    "chart_caption_continued", label=label, part=index, parts=len(chunks)
                )
            suffix = f"-{index}" if len(chunks) > 1 else ""
            name = f"{stem}-{result.question.name}{suffix}.png"
            photos.append(ChartPhoto(name, png, caption))
        return photos

    def summary(self) -> str:
        summary = self.results.summary
        questions = [
            {
                "number": index,
                "label": _shortened(result.question.labels[self.language], SUMMARY_LABEL),
                "respondents": figure_text(self.language, self.words, result.respondents),
            }
            for index, result in enumerate(self.results.choices, start=1)
        ]
        if self.results.responses == 0:
            questions = []

        def message(listed: int) -> str:
            return self.render(
                "summary",
                id=summary.id,
                title=self.title(),
                status=self.catalogue.plain(
                    self.language, f"surveys.status.{summary.status.value}"
                ),
                responses=self.results.responses,
                questions=questions[:listed],
                more=len(questions) - listed,
            )

        listed = min(len(questions), SUMMARY_QUESTIONS)
        return _first_fitting(
            [message(count) for count in range(listed, -1, -5)] + [message(0)], MESSAGE_LIMIT
        )


def _shortened(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def results_album(
    results: SurveyResults, catalogue: Catalogue, language: str, labels: Mapping[str, str]
) -> ResultsAlbum:
    """The summary and the chart photos of `results` in `language` (`labels`: the names of
    governorates, genders and age groups, `presentation.group_labels`)."""
    writer = _Writer(catalogue, language, results, labels)
    stem = f"survey-{results.summary.id}-{results.form.form_id}"
    photos: list[ChartPhoto] = []
    if results.responses:
        for result in results.choices:
            photos.extend(writer.photos(result, stem))
    return ResultsAlbum(writer.summary(), tuple(photos))
