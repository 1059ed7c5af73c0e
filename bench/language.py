"""Benchmark Hiwar's chat-message language detection against plain langdetect.

Run from the repository root::

    python bench/language.py [--passes N] [--repeats R]

What it measures, in one run over ``tests/data/language_corpus.tsv``:

* accuracy of :func:`bot.members.language.detect_text_language` (``None`` counts as the
  corpus label ``none``);
* accuracy of plain ``langdetect.detect`` (all 55 profiles, ``DetectorFactory.seed = 0``),
  mapping ``"ar"`` to ``ar``, any other language to ``en`` and exceptions to ``none``, which
  is what a bot would do with it;
* accuracy per corpus category (ar, en, arabizi, kurdish, mixed, none) for both;
* wall time of N passes over the corpus for each detector (``time.perf_counter``), repeated R
  times, median reported, after one warm-up pass each so profile loading is not timed; and
  the speed ratio (plain langdetect time ÷ ours, i.e. how many times faster ours is).

Nothing is asserted: timings depend on the machine, so this only prints.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from langdetect import DetectorFactory, LangDetectException, detect  # noqa: E402

from bot.members.language import detect_text_language  # noqa: E402

CORPUS_PATH = ROOT / "tests" / "data" / "language_corpus.tsv"
KURDISH_ONLY_LETTERS = frozenset("ڕڵۆێە")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+")

Detector = Callable[[str], str | None]


def load_corpus() -> list[tuple[str, str]]:
    lines = CORPUS_PATH.read_text(encoding="utf-8").splitlines()
    if lines[0] != "label\ttext":
        raise SystemExit(f"{CORPUS_PATH}: missing 'label<TAB>text' header")
    rows = []
    for line in lines[1:]:
        label, _, text = line.partition("\t")
        rows.append((label, text))
    return rows


def category(label: str, text: str) -> str:
    """Same categories as tests/members/test_language_detection.py."""
    if label == "none":
        return "none"
    names = [unicodedata.name(ch, "") for ch in _URL_RE.sub(" ", text) if ch.isalpha()]
    has_arabic = any(name.startswith("ARABIC") for name in names)
    has_latin = any(name.startswith("LATIN") for name in names)
    if has_arabic and has_latin:
        return "mixed"
    if label == "ar" and has_latin and not has_arabic:
        return "arabizi"
    if KURDISH_ONLY_LETTERS & set(text):
        return "kurdish"
    return label


def plain_langdetect(text: str) -> str | None:
    try:
        return "ar" if detect(text) == "ar" else "en"
    except LangDetectException:
        return None


def score(detector: Detector, corpus: list[tuple[str, str]]) -> tuple[float, dict[str, float]]:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for label, text in corpus:
        cat = category(label, text)
        totals[cat] += 1
        if (detector(text) or "none") == label:
            hits[cat] += 1
    overall = sum(hits.values()) / len(corpus)
    return overall, {cat: hits[cat] / totals[cat] for cat in totals}


def time_passes(detector: Detector, texts: list[str], passes: int, repeats: int) -> float:
    for text in texts:  # warm-up: profile loading, caches
        detector(text)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(passes):
            for text in texts:
                detector(text)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3, help="corpus passes per timing")
    parser.add_argument("--repeats", type=int, default=5, help="timings; the median is shown")
    args = parser.parse_args()

    DetectorFactory.seed = 0
    corpus = load_corpus()
    texts = [text for _, text in corpus]

    ours_acc, ours_cats = score(detect_text_language, corpus)
    plain_acc, plain_cats = score(plain_langdetect, corpus)
    ours_time = time_passes(detect_text_language, texts, args.passes, args.repeats)
    plain_time = time_passes(plain_langdetect, texts, args.passes, args.repeats)

    calls = args.passes * len(texts)
    print(f"corpus: {len(corpus)} messages ({CORPUS_PATH.relative_to(ROOT)})")
    print(f"timing: {args.passes} passes = {calls} calls, median of {args.repeats} runs\n")
    print(f"{'':24}{'accuracy':>10}{'time (s)':>12}{'µs/msg':>10}")
    for name, acc, seconds in (
        ("detect_text_language", ours_acc, ours_time),
        ("plain langdetect", plain_acc, plain_time),
    ):
        print(f"{name:24}{acc:>10.3f}{seconds:>12.4f}{seconds / calls * 1e6:>10.1f}")
    print(f"\nspeed ratio (plain ÷ ours): {plain_time / ours_time:.1f}x faster\n")
    print(f"{'category':12}{'n':>5}{'ours':>8}{'plain':>8}")
    counts = Counter(category(label, text) for label, text in corpus)
    for cat in ("ar", "en", "arabizi", "kurdish", "mixed", "none"):
        print(
            f"{cat:12}{counts[cat]:>5}{ours_cats.get(cat, 0):>8.3f}{plain_cats.get(cat, 0):>8.3f}"
        )


if __name__ == "__main__":
    main()
