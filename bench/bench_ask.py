"""Benchmark of issue 4: `ask` latency, warm in process and cold from process start.

Warm: every dev question (seed set on the seed KB, corpus set on seed + corpus), asked ``--repeat`` times
after one warm-up pass; median and p95 in milliseconds (target: median <= 20 ms). Cold: ``python -m kb
ask "..."`` in a fresh process, ``--cold`` runs; median seconds (target <= 1.5 s), for a question the KB
answers and for one that falls back to passage search. Prints the machine's load average beside the
figures, since the cold start is mostly imports and disk reads. Usage: ``python bench/bench_ask.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kb.facade import KnowledgeBase  # noqa: E402

SEED_QUESTIONS = ROOT / "tests" / "data" / "eval" / "seed_dev_qa.jsonl"
CORPUS_QUESTIONS = ROOT / "tests" / "data" / "corpus" / "corpus_dev_qa.jsonl"
SEED = ROOT / "kb" / "data" / "kb" / "sources" / "000_ddb5accd812ab49c.txt"


def questions(path: Path) -> list[str]:
    return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def warm(kb: KnowledgeBase, texts: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Latencies (ms) of KB answers and of text-fallback/abstention paths, after a warm-up pass."""
    for text in texts:
        kb.ask(text)
    answered: list[float] = []
    other: list[float] = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            answer = kb.ask(text)
            elapsed = (time.perf_counter() - start) * 1000
            (answered if answer.source_kind == "kb" and not answer.abstained else other).append(elapsed)
    return answered, other


def cold(home: Path, question: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kb", "--home", str(home), "ask", question],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="Warm passes over the questions.")
    parser.add_argument("--cold", type=int, default=5, help="Cold runs per question.")
    parser.add_argument("--home", type=Path, help="A seed KB to use (default: a fresh build in a temp dir).")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ask-"))
    try:
        if args.home is None:
            seed_home = work / "seed"
            shutil.copytree(ROOT / "kb" / "data" / "kb" / "sources", seed_home / "sources")
            KnowledgeBase(seed_home).build()
        else:
            seed_home = args.home
        corpus = KnowledgeBase(work / "corpus")
        corpus.ingest([SEED, *sorted((ROOT / "tests" / "data" / "corpus").glob("*.txt"))])
        seed = KnowledgeBase(seed_home)
        answered, other = warm(seed, questions(SEED_QUESTIONS), args.repeat)
        corpus_answered, corpus_other = warm(corpus, questions(CORPUS_QUESTIONS), args.repeat)
        answered += corpus_answered
        other += corpus_other
        every = answered + other
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        print(
            f"warm ask, all dev questions ({len(every)} asks): median {statistics.median(every):.2f} ms, "
            f"p95 {percentile(every, 0.95):.2f} ms (target median <= 20 ms)"
        )
        print(
            f"  answered from the KB: median {statistics.median(answered):.2f} ms, p95 {percentile(answered, 0.95):.2f} ms; "
            f"abstained or from text: median {statistics.median(other):.2f} ms, p95 {percentile(other, 0.95):.2f} ms"
        )
        for label, question in (
            ("KB answer", "What was the complete remission rate?"),
            ("abstention (search fallback)", "What was the median age of the patients?"),
        ):
            times = cold(seed_home, question, args.cold)
            print(
                f"cold `trialkb ask` ({label}): median {statistics.median(times):.2f} s, "
                f"min {min(times):.2f} s over {len(times)} runs (target median <= 1.5 s)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
