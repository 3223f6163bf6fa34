"""MEDLINE bulk ingest: parse rate and peak memory on generated baseline-sized files, and the end-to-end rate.

    .venv/bin/python bench/bench_medline.py --parse 5000 30000 --end-to-end 200

Files are generated from the project's MEDLINE test records (four trial reports and a review) repeated under
distinct PMIDs, gzip-compressed like a baseline file. "parse" reads every article into a `Document` (XML,
composed text, passages) without extraction; "end to end" is `KnowledgeBase.ingest` into a new KB (extraction,
RDF, commit, embedding index), in batches of 200.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEDLINE = ROOT / "tests" / "data" / "medline"


def records() -> list[str]:
    texts = [
        (MEDLINE / "keynote189.xml").read_text(encoding="utf-8"),
        gzip.decompress((MEDLINE / "several.xml.gz").read_bytes()).decode("utf-8"),
        (MEDLINE / "nontrial-review.xml").read_text(encoding="utf-8"),
    ]
    found = []
    for text in texts:
        for part in text.split("<PubmedArticle>")[1:]:
            found.append("<PubmedArticle>" + part.split("</PubmedArticle>")[0] + "</PubmedArticle>\n")
    return found


def generate(path: Path, articles: int) -> None:
    base = records()
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.write("<?xml version='1.0'?>\n<PubmedArticleSet>\n")
        for number in range(articles):
            article = base[number % len(base)]
            pmid = article.split('<PMID Version="1">', 1)[1].split("<", 1)[0]
            file.write(article.replace(pmid, str(60_000_000 + number)))
        file.write("</PubmedArticleSet>\n")


def parse(path: Path) -> tuple[int, float, float]:
    from kb.sources import SourceFile

    started = time.perf_counter()
    count = sum(1 for item in SourceFile(path).documents() if not hasattr(item, "reason"))
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    for _ in SourceFile(path).documents():
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, count / elapsed, peak / 2**20


def end_to_end(path: Path, articles: int) -> tuple[float, int]:
    from kb.facade import KnowledgeBase

    with tempfile.TemporaryDirectory() as home:
        kb = KnowledgeBase(Path(home) / "kb")
        started = time.perf_counter()
        report = kb.ingest([path])
        elapsed = time.perf_counter() - started
        added = sum(o.status == "added" for o in report.outcomes)
    return articles / elapsed, added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parse", type=int, nargs="*", default=[5_000, 30_000])
    parser.add_argument("--end-to-end", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for articles in options.parse:
            path = Path(directory) / f"baseline-{articles}.xml.gz"
            generate(path, articles)
            count, rate, peak = parse(path)
            size = path.stat().st_size / 2**20
            print(
                f"parse {count:,} articles ({size:.1f} MB gz): {rate:,.0f} articles/s, traced peak {peak:.2f} MiB"
            )
        if options.end_to_end:
            path = Path(directory) / "e2e.xml.gz"
            generate(path, options.end_to_end)
            rate, added = end_to_end(path, options.end_to_end)
            print(
                f"end to end {options.end_to_end} articles ({added} added, rest skipped): {rate:.1f} articles/s"
            )
    print(
        f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
