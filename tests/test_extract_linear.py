"""Extraction is linear in the input (issue 17 item 4): a megabyte without a sentence break is read, and the
work per character does not grow with the text. Times are printed, never asserted."""

from __future__ import annotations

import cProfile
import pstats
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import support  # noqa: F401 - puts bench/ on the path
from bench_extract_linear import sentences_text, single_sentence_text

import kb.ingest
from kb.extract import extract
from kb.ingest import MAX_SENTENCE, parse_document, split_sentences
from kb.lexicon import load_lexicon
from kb.models import Extraction

SCANS = ("search", "finditer", "findall", "sub", "subn", "split")
"""Pattern methods that read their whole window (``match`` and ``fullmatch`` stop where the pattern does)."""


class CountingPattern:
    """A compiled pattern that adds the length of every window it scans to a shared counter."""

    def __init__(self, pattern: re.Pattern[str], counter: list[int]) -> None:
        self.pattern_object = pattern
        self.counter = counter

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.pattern_object, name)
        if name not in SCANS:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            text = next((a for a in args if isinstance(a, str)), kwargs.get("string", ""))
            position = args[1] if name in {"search", "finditer", "findall"} and len(args) > 1 else 0
            end = args[2] if name in {"search", "finditer", "findall"} and len(args) > 2 else len(text)
            self.counter[0] += max(0, min(end, len(text)) - position)
            return attribute(*args, **kwargs)

        return counted


def _unwrap(value: Any) -> Any:
    return value.pattern_object if isinstance(value, CountingPattern) else value


@contextmanager
def counted_scans() -> Iterator[list[int]]:
    """Count the characters every extraction and splitting pattern scans: module-level patterns (alone or in
    tuples) are swapped for counting ones, and ``re``'s functions count what they scan too."""
    counter = [0]
    modules: list[ModuleType] = [kb.ingest] + [
        module
        for name, module in sys.modules.items()
        if name.startswith("kb.extract.") and module is not None
    ]
    saved: list[tuple[ModuleType, str, Any]] = []
    for module in modules:
        for name, value in list(vars(module).items()):
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                saved.append((module, name, value))
                setattr(module, name, CountingPattern(value, counter))
            elif isinstance(value, tuple) and any(isinstance(v, re.Pattern) for v in value):
                saved.append((module, name, value))
                setattr(
                    module,
                    name,
                    tuple(CountingPattern(v, counter) if isinstance(v, re.Pattern) else v for v in value),
                )
            elif isinstance(value, tuple) and value and all(isinstance(v, tuple) for v in value):
                if any(isinstance(x, re.Pattern) for v in value for x in v):
                    saved.append((module, name, value))
                    setattr(
                        module,
                        name,
                        tuple(
                            tuple(CountingPattern(x, counter) if isinstance(x, re.Pattern) else x for x in v)
                            for v in value
                        ),
                    )
    functions = {name: getattr(re, name) for name in (*SCANS, "match", "fullmatch", "compile")}

    def wrapped(name: str) -> Callable[..., Any]:
        original = functions[name]

        def call(pattern: Any, *args: Any, **kwargs: Any) -> Any:
            pattern = _unwrap(pattern)
            if name in SCANS:
                text = next((a for a in args if isinstance(a, str)), "")
                counter[0] += len(text)
            return original(pattern, *args, **kwargs)

        return call

    try:
        for name in functions:
            setattr(re, name, wrapped(name))
        yield counter
    finally:
        for name, original in functions.items():
            setattr(re, name, original)
        for module, name, value in saved:
            setattr(module, name, value)


def _work(text: str) -> tuple[int, int, float]:
    """Characters scanned by patterns, Python calls made (generator steps included), and seconds, for one
    parse and extraction of ``text``."""
    lexicon = load_lexicon()
    extract(parse_document("warm.txt", text[:5000]), lexicon)  # imports, compiled patterns
    profiler = cProfile.Profile()
    with counted_scans() as scanned:
        started = time.perf_counter()
        profiler.enable()
        extract(parse_document("long.txt", text), lexicon)
        profiler.disable()
        seconds = time.perf_counter() - started
    calls = sum(row[1] for row in pstats.Stats(profiler).stats.values())  # type: ignore[attr-defined]
    return scanned[0], calls, seconds


@pytest.mark.parametrize(
    "make_text", [single_sentence_text, sentences_text], ids=["one sentence", "sentences"]
)
def test_work_per_character_does_not_grow(make_text: Callable[[int], str]) -> None:
    """Quadrupling the text must not quadruple the work per character: a per-mention rescan of the sentence
    (the regimen bug) shows in the characters scanned, a per-fact scan of every fact in the calls."""
    small, large = make_text(50_000), make_text(200_000)
    small_scanned, small_calls, small_seconds = _work(small)
    large_scanned, large_calls, large_seconds = _work(large)
    scan_growth = (large_scanned / len(large)) / (small_scanned / len(small))
    call_growth = (large_calls / len(large)) / (small_calls / len(small))
    print(
        f"\n50 kB: {small_scanned / len(small):.0f} characters scanned and {small_calls / len(small):.2f} calls per "
        f"character, {small_seconds:.2f} s (profiled); 200 kB: {large_scanned / len(large):.0f} and "
        f"{large_calls / len(large):.2f}, {large_seconds:.2f} s; growth per character x{scan_growth:.2f} "
        f"scanned, x{call_growth:.2f} calls (quadratic would be x4)"
    )
    assert scan_growth < 1.5 and call_growth < 1.5


def test_counting_sees_a_quadratic_scan() -> None:
    """The instrument itself: an end-anchored search over a growing prefix counts quadratically."""
    text = "word " * 2000
    with counted_scans() as scanned:
        for end in range(0, len(text), 10):
            kb.ingest._SENTENCE_END.search(text, 0, end)
    assert scanned[0] > len(text) * len(text) / 25


def test_one_megabyte_sentence_is_extracted() -> None:
    text = single_sentence_text(1_000_000)
    started = time.perf_counter()
    document = parse_document("megabyte.txt", text)
    extraction: Extraction = extract(document)
    seconds = time.perf_counter() - started
    print(
        f"\n1 MB single sentence: {len(document.passages)} passages, {len(extraction.facts)} facts, {seconds:.1f} s"
    )
    body = [p for p in document.passages if p.section == "body"]
    assert all(p.end - p.start <= MAX_SENTENCE for p in body)
    # One sentence, so cut only by the length cap: every piece nearly as long as it allows.
    assert len(text) // MAX_SENTENCE <= len(body) <= len(text) // (MAX_SENTENCE - 100) + 1
    assert extraction.facts and any(f.predicate == "intervention" for f in extraction.facts)
    passages = {p.id: p for p in document.passages}
    for fact in extraction.facts:  # every fact still quotes its own passage
        passage = passages[fact.evidence.passage_id]
        assert passage.start <= fact.evidence.start <= fact.evidence.end <= passage.end
        assert fact.evidence.quote == text[fact.evidence.start : fact.evidence.end]


def test_long_sentence_is_ingested(tmp_path: Path) -> None:
    """The whole ingest (extraction, graph, commit, search index) of 50 kB with no sentence break, which took
    40 s before. The megabyte is extracted above; its full ingest is linear too but spends minutes embedding
    500 passages and storing the 60,000 facts of so dense a text, too long for the test suite."""
    from kb.facade import KnowledgeBase

    source = tmp_path / "long.txt"
    source.write_text(single_sentence_text(50_000), encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    started = time.perf_counter()
    report = kb.ingest([source])
    print(f"\n50 kB single sentence ingested in {time.perf_counter() - started:.1f} s")
    assert not report.failed, report
    body = kb.query("ASK { ?t a tkb:ClinicalTrial }", "json").body
    assert b"true" in (body if isinstance(body, bytes) else body.encode())


def test_long_sentences_are_cut_at_whitespace() -> None:
    words = "alpha beta gamma delta " * 500
    spans = split_sentences(words)
    assert len(spans) > 1 and all(end - start <= MAX_SENTENCE for start, end in spans)
    assert (
        " ".join(words[start:end] for start, end in spans).split() == words.split()
    )  # nothing lost or split
    unbroken = "x" * (2 * MAX_SENTENCE + 5)
    assert split_sentences(unbroken) == [
        (0, MAX_SENTENCE),
        (MAX_SENTENCE, 2 * MAX_SENTENCE),
        (2 * MAX_SENTENCE, len(unbroken)),
    ]
    ordinary = "The trial enrolled 33 patients. Dr. Smith et al. reported it. The CR rate was 97%."
    assert [ordinary[s:e] for s, e in split_sentences(ordinary)] == [
        "The trial enrolled 33 patients.",
        "Dr. Smith et al. reported it.",
        "The CR rate was 97%.",
    ]


def test_long_title_and_metadata_lines_are_cut_too() -> None:
    """A header or trailing "Key: value" line is a passage of its own: capped like a sentence, so no extractor
    reads a megabyte as one passage (the lexicon's overlap check alone was quadratic in it)."""
    long_value = single_sentence_text(300_000).strip()
    text = f"Title: {long_value}\nJournal: Blood\n\n{single_sentence_text(3_000)}\nKeywords: {long_value}\n"
    document = parse_document("long-lines.txt", text)
    sections = {p.section for p in document.passages}
    assert {"title", "metadata", "body"} <= sections
    assert all(p.end - p.start <= MAX_SENTENCE for p in document.passages)
    started = time.perf_counter()
    extraction = extract(document)
    print(
        f"\n2 x 300 kB title and metadata lines: {len(extraction.facts)} facts, {time.perf_counter() - started:.1f} s"
    )
    assert document.metadata["journal"] == "Blood"
