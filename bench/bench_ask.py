"""Benchmark of issue 4: `ask` latency, warm in process and cold from process start.

Warm: every dev question (seed set on the seed KB, corpus set on seed + corpus), asked ``--repeat`` times
after one warm-up pass; median and p95 in milliseconds (target: median <= 20 ms). Cold: ``python -m kb
ask "..."`` in a fresh process, ``--cold`` runs; median seconds (target <= 1.5 s), for a question the KB
answers, for one that falls back to passage search, and for a registry question (the shared record
linked); wall time and the child's CPU time (user + system, steadier on a busy machine). Beside them the
floor: a bare interpreter, and one that only imports click, pydantic and pydantic-settings (every command
needs them: settings are pydantic-settings). Bytecode is compiled first, as an installed package has it.
Prints the machine's load average, since the cold start is mostly imports and disk reads.
Usage: ``python bench/bench_ask.py [--cold 9]``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
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


def cold(command: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (user + system of the child) of ``command`` in fresh processes."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def report_cold(label: str, command: list[str], runs: int, target: str = "") -> None:
    walls, cpus = cold(command, runs)
    print(
        f"cold {label}: median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
        f"CPU median {statistics.median(cpus):.2f} s over {runs} runs{target}"
    )


def ask_command(home: Path, question: str) -> list[str]:
    return [sys.executable, "-m", "kb", "--home", str(home), "ask", question]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="Warm passes over the questions.")
    parser.add_argument("--cold", type=int, default=9, help="Cold runs per question.")
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
        for package in ("kb", "search", "ontology"):
            compileall.compile_dir(ROOT / package, quiet=1)
        linked_home = work / "linked"
        shutil.copytree(seed_home, linked_home)
        KnowledgeBase(linked_home).link(
            ["NCT03739814"], ROOT / "tests" / "data" / "ctgov" / "NCT03739814.json"
        )
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} before the cold runs")
        report_cold("python (bare interpreter)", [sys.executable, "-c", "pass"], args.cold)
        floor = "import click, pydantic, pydantic_settings"
        report_cold(
            "python -c 'import click, pydantic, pydantic_settings'", [sys.executable, "-c", floor], args.cold
        )
        target = " (target median <= 1.5 s)"
        for label, home, question in (
            ("KB answer", seed_home, "What was the complete remission rate?"),
            ("abstention (search fallback)", seed_home, "What was the median age of the patients?"),
            ("registry answer", linked_home, "What is the status of the trial?"),
        ):
            report_cold(f"`trialkb ask` ({label})", ask_command(home, question), args.cold, target)
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} after the cold runs")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
