"""Benchmark of issue 17 item 4: extraction time of one text without sentence breaks, at growing sizes.

The text (`single_sentence_text`) is written in a trial report's own vocabulary: the lexicon's drug,
endpoint and organisation names, trial names, cycle counts, doses, routes, counts, percentages and
commas, with no full stop anywhere, so the passage splitter sees one sentence. Before the search windows
were bound, `kb/extract/regimen.py` searched an end-anchored pattern over the whole sentence prefix once per
drug mention, and ingesting 50 kB took 40 s, 100 kB 185 s, 200 kB over 300 s.

Prints the median of ``--repeat`` runs of `kb.extract.extract` (after `kb.ingest.parse_document`) for
50 kB, 100 kB, 200 kB and 1 MB, with the working tree's code or ``--after COMMIT``'s. With ``--before
COMMIT`` the same texts are also extracted by the code of that commit, and the ratios are printed. A
commit's code is exported with ``git archive`` into a temporary folder and run in a subprocess (nothing in
the working tree changes), each size under ``--limit`` seconds (past it: "> limit"). ``--text sentences``
makes each clause its own sentence, for costs that grow with the document rather than the sentence.

Usage: ``python bench/bench_extract_linear.py [--repeat 3] [--after COMMIT] [--before COMMIT] [--limit 600]
[--text single|sentences]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SIZES = {"50 kB": 50_000, "100 kB": 100_000, "200 kB": 200_000, "1 MB": 1_000_000}


def _vocabulary() -> dict[str, list[str]]:
    """Names by lexicon kind, read from the lexicon file itself (no import of the code under test)."""
    entries = json.loads((ROOT / "kb" / "data" / "lexicon.json").read_text(encoding="utf-8"))["entries"]
    names: dict[str, list[str]] = {}
    for entry in entries:
        names.setdefault(entry["kind"], []).extend([entry["label"], *entry["synonyms"][:2]])
    return names


_NEW_DRUGS = ["zelvotinib", "tarlumab", "orvaclax", "belrafenib", "quenalisib", "davoxumab", "ranitecan"]
_BRANDS = ["Zelvora", "Tarluxa", "Orvenzi", "Belrafa"]


def single_sentence_text(size: int, seed: int = 17) -> str:
    """About ``size`` characters of trial-report clauses joined by commas, with no sentence break."""
    rng = random.Random(seed)
    names = _vocabulary()
    drugs, endpoints = names["Drug"], names["Endpoint"]
    organisations, diseases = names["Organization"], names["Disease"]
    number_words = ["two", "three", "four", "five", "six", "up to two", "at least three", "four or five"]
    clauses = [
        lambda: (
            f"the Alliance A{rng.randint(10000, 99999)} Cohort {rng.randint(1, 4)} trial enrolled "
            f"{rng.randint(20, 900)} patients with {rng.choice(diseases)}"
        ),
        lambda: f"participants received {rng.choice(number_words)} induction cycles of {rng.choice(drugs)}",
        lambda: f"followed by {rng.choice(drugs)} at a dose of {rng.randint(1, 90)} mg/m2 per day",
        lambda: f"then {rng.randint(2, 6)} courses of intravenous {rng.choice(drugs)} given over 28 days",
        lambda: f"{rng.choice(drugs)} administered orally for up to {rng.randint(2, 9)} cycles",
        lambda: (
            f"the {rng.choice(endpoints)} rate was {rng.randint(1, 99)}.{rng.randint(0, 9)}% "
            f"({rng.randint(5, 200)} of {rng.randint(200, 400)}) versus {rng.randint(1, 99)}%"
        ),
        lambda: (
            f"hazard ratio {rng.randint(40, 99) / 100}, 95% CI {rng.randint(30, 60) / 100} to "
            f"{rng.randint(70, 120) / 100}, P={rng.randint(1, 50) / 1000}"
        ),
        lambda: f"median {rng.choice(endpoints)} of {rng.randint(3, 40)}.{rng.randint(0, 9)} months",
        lambda: f"supported by {rng.choice(organisations)} and {rng.choice(organisations)}",
        lambda: (
            f"in combination with {rng.choice(drugs)} without chemotherapy in {rng.randint(20, 80)}% "
            f"of {rng.randint(10, 300)} patients aged {rng.randint(18, 60)} to {rng.randint(61, 90)} years"
        ),
        # Drugs no lexicon holds, recognised by their INN stems, with a brand beside some.
        lambda: (
            f"{rng.choice(_BRANDS)} ({rng.choice(_NEW_DRUGS)}), a CD{rng.randint(2, 80)}-directed antibody"
        ),
        lambda: f"{rng.choice(_NEW_DRUGS)} {rng.randint(2, 20)} mg/kg every 3 weeks",
    ]
    parts: list[str] = []
    length = 0
    while length < size:
        clause = rng.choice(clauses)()
        parts.append(clause)
        length += len(clause) + 2
    return ", ".join(parts)[:size].rstrip(" ,") + "\n"


def _time_extraction(text: str, repeat: int) -> list[float]:
    """Seconds per run of parsing and extracting ``text`` with whatever `kb` is first on the path."""
    from kb.extract import extract
    from kb.ingest import parse_document
    from kb.lexicon import load_lexicon

    lexicon = load_lexicon()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        extract(parse_document("long.txt", text), lexicon)
        times.append(time.perf_counter() - started)
    return times


def _export(commit: str, into: Path) -> None:
    """The packages of ``commit`` written under ``into`` (git archive: no checkout, no stash)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "kb", "ontology", "search"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def sentences_text(size: int, seed: int = 17) -> str:
    """The same clauses as `single_sentence_text`, each its own sentence (document-wide costs, not a sentence's)."""
    return single_sentence_text(size, seed).replace(", ", ". The ")


TEXTS = {"single": single_sentence_text, "sentences": sentences_text}


def _timed(commit: str | None, kind: str, size: int, repeat: int, limit: float) -> float | None:
    """Median seconds to extract a ``size`` text of ``kind`` with ``commit``'s code (exported with git archive
    and run in a subprocess), or with the working tree's when ``commit`` is None; None past ``limit``."""
    if commit is None:
        return statistics.median(_time_extraction(TEXTS[kind](size), repeat))
    with tempfile.TemporaryDirectory() as folder:
        _export(commit, Path(folder))
        code = (
            f"import sys, statistics; sys.path.insert(0, {folder!r}); sys.path.insert(1, {str(ROOT / 'bench')!r}); "
            "import bench_extract_linear as b; "
            f"print(statistics.median(b._time_extraction(b.TEXTS[{kind!r}]({size}), {repeat})))"
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, timeout=limit, cwd=folder
            )
        except subprocess.TimeoutExpired:
            return None
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        return float(done.stdout.split()[-1])


def _shown(seconds: float | None, limit: float) -> str:
    return f"> {limit:g}" if seconds is None else f"{seconds:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--after", metavar="COMMIT", help="time this commit's code (default: the working tree)"
    )
    parser.add_argument("--before", metavar="COMMIT", help="also time this commit's code, once per size")
    parser.add_argument("--limit", type=float, default=600.0, help="seconds allowed per size and commit")
    parser.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--text", choices=list(TEXTS), default="single", help="one sentence, or many")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.text} text; median of {args.repeat} runs (parse + extract)"
    )
    print(
        f"{'size':>8} {'after s':>9} {'s/MB':>7}" + (f" {'before s':>10} {'ratio':>8}" if args.before else "")
    )
    for name in args.sizes:
        size = SIZES[name]
        after = _timed(args.after, args.text, size, args.repeat, args.limit)
        line = f"{name:>8} {_shown(after, args.limit):>9} " + (
            f"{after / size * 1e6:7.2f}" if after else " " * 7
        )
        if args.before:
            before = _timed(args.before, args.text, size, 1, args.limit)
            ratio = (
                ""
                if after is None
                else (f"> {args.limit / after:.0f}x" if before is None else f"{before / after:.0f}x")
            )
            line += f" {_shown(before, args.limit):>10} {ratio:>8}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
