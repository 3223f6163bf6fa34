"""Ingestion throughput side by side: 1 and 2 local workers, a 2-worker Dask cluster, and the code of a baseline
commit run on the same file (issue 15 part 3, issue 16 item 3).

    .venv/bin/python bench/bench_ingest.py --articles 300 --runs 3 --baseline 55b57a9

Each run is a fresh process ingesting one generated MEDLINE file (``--articles`` varied abstracts: trial names,
NCT ids, drugs, diseases and numbers differ from one to the next, so embedding works as on real text) into a
new KB, in batches of 200, end to end: parse, extract, RDF, embedding, commit, search index. Printed per
configuration: the median abstracts/s of ``--runs`` runs, and the peak RSS of the driver and of the largest
worker. The ONNX export is made once before the timed runs (a shared cache), as on any machine after the
first ingest. The baseline is the tree of a git commit (``git archive``) run the same way.

Measured here (2 cores shared with other jobs, load average 1-4; abstracts/s, median of 3; peak RSS MiB):

    configuration                     run 1   run 2   driver  worker
    baseline 55b57a9, 1 worker          9.0       -      736       -
    baseline 55b57a9, 2 workers         9.6       -      763      69
    this tree, 1 worker                16.7    15.5      642       -
    this tree, 2 workers               16.9    14.0      668      66
    this tree, Dask 2 workers          21.1    20.4      578     254
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from synthetic_docs import synthetic_document  # noqa: E402


def medline_article(index: int) -> str:
    """One synthetic trial report as a MEDLINE record: structured abstract, journal, RCT type, NCT id."""
    lines = synthetic_document(index).splitlines()
    title, background, enrolled, treated, results, funding = lines[:6]
    journal = lines[6].split(":", 1)[1].split(",")[0].strip()
    nct = f"NCT{90_000_000 + index:08d}"
    sections = [
        ("BACKGROUND", background),
        ("METHODS", f"{enrolled} {treated}"),
        ("RESULTS", results),
        ("CONCLUSIONS", funding),
    ]
    abstract = "".join(
        f'<AbstractText Label="{label}" NlmCategory="{label}">{escape(text)}</AbstractText>'
        for label, text in sections
    )
    return (
        f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{70_000_000 + index}</PMID>'
        f'<Article PubModel="Print"><Journal><JournalIssue CitedMedium="Internet"><Volume>{100 + index % 50}</Volume>'
        f"<PubDate><Year>2025</Year><Month>Mar</Month></PubDate></JournalIssue><Title>{escape(journal)}</Title></Journal>"
        f"<ArticleTitle>{escape(title)}</ArticleTitle><Abstract>{abstract}</Abstract>"
        f'<AuthorList CompleteYN="Y"><Author ValidYN="Y"><LastName>Author{index}</LastName><ForeName>A</ForeName>'
        f"<Initials>A</Initials></Author></AuthorList><Language>eng</Language>"
        f'<DataBankList CompleteYN="Y"><DataBank><DataBankName>ClinicalTrials.gov</DataBankName><AccessionNumberList>'
        f"<AccessionNumber>{nct}</AccessionNumber></AccessionNumberList></DataBank></DataBankList>"
        f'<PublicationTypeList><PublicationType UI="D016449">Randomized Controlled Trial</PublicationType>'
        f"</PublicationTypeList></Article></MedlineCitation></PubmedArticle>\n"
    )


def generate(path: Path, articles: int) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write("<?xml version='1.0' encoding='UTF-8'?>\n<PubmedArticleSet>\n")
        for index in range(articles):
            file.write(medline_article(index))
        file.write("</PubmedArticleSet>\n")


def peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def run_once(source: Path, home: Path, workers: int, cluster: str | None) -> dict[str, float]:
    """One ingest in this process (``--run``): seconds, documents added, peak RSS of driver and workers."""
    from kb.facade import KnowledgeBase

    kb = KnowledgeBase(home)
    options: dict[str, object] = {"workers": workers} if workers > 1 else {}
    if cluster:
        options = {"cluster": cluster}
    started = time.perf_counter()
    report = kb.ingest([source], batch_size=200, **options)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "added": sum(o.status == "added" for o in report.outcomes),
        "driver_mib": peak_mib(resource.RUSAGE_SELF),
        "worker_mib": peak_mib(resource.RUSAGE_CHILDREN),
    }


def timed(
    code: Path, source: Path, work: Path, workers: int, cluster: str | None, cache: Path
) -> dict[str, float]:
    """One ingest in a fresh process running the tree ``code``."""
    home = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "TRIALKB_CACHE_DIR": str(cache)}
    command = [sys.executable, __file__, "--run", str(source), str(home), str(workers), cluster or ""]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=code, check=False)
    if result.returncode != 0:
        raise SystemExit(f"run failed ({code}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def cluster_peak_mib(client: object) -> float:
    def peak() -> float:
        import resource as r

        return r.getrusage(r.RUSAGE_SELF).ru_maxrss / 1024

    return max(client.run(peak).values())  # type: ignore[attr-defined]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        source, home, workers, cluster = sys.argv[2:6]
        print(json.dumps(run_once(Path(source), Path(home), int(workers), cluster or None)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", default=None, help="a git commit whose code runs beside this tree's")
    parser.add_argument("--no-cluster", action="store_true", help="skip the Dask local cluster")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trialkb-bench-ingest-"))
    cache = work / "cache"
    source = work / "abstracts.xml"
    generate(source, options.articles)
    warm = work / "warm.xml"
    generate(warm, 3)
    timed(ROOT, warm, work, 1, None, cache)  # the ONNX export, once, outside the timings
    configurations: list[tuple[str, Path, int, bool]] = []
    if options.baseline:
        base = work / "baseline"
        base.mkdir()
        archive = subprocess.run(
            ["git", "archive", options.baseline], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        configurations += [(f"baseline {options.baseline}, 1 worker", base, 1, False)]
        configurations += [(f"baseline {options.baseline}, 2 workers", base, 2, False)]
    configurations += [("this tree, 1 worker", ROOT, 1, False), ("this tree, 2 workers", ROOT, 2, False)]
    if not options.no_cluster:
        configurations.append(("this tree, Dask LocalCluster 2 workers", ROOT, 2, True))
    print(f"{options.articles} synthetic MEDLINE abstracts, batches of 200, median of {options.runs} runs")
    print(f"  {'configuration':42} {'abstracts/s':>11} {'added':>6} {'driver MiB':>11} {'worker MiB':>11}")
    for name, code, workers, on_cluster in configurations:
        runs = []
        worker_mib = 0.0
        if on_cluster:
            sys.path.insert(0, str(ROOT))
            os.environ["TRIALKB_CACHE_DIR"] = str(cache)
            from distributed import Client, LocalCluster

            with (
                LocalCluster(
                    n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None
                ) as lc,
                Client(lc) as client,
            ):
                for _ in range(options.runs):
                    runs.append(timed(code, source, work, 1, lc.scheduler_address, cache))
                worker_mib = cluster_peak_mib(client)
        else:
            runs = [timed(code, source, work, workers, None, cache) for _ in range(options.runs)]
            worker_mib = max(run["worker_mib"] for run in runs) if workers > 1 else 0.0
        rate = statistics.median(options.articles / run["seconds"] for run in runs)
        driver = max(run["driver_mib"] for run in runs)
        added = int(runs[0]["added"])
        print(f"  {name:42} {rate:11.1f} {added:6d} {driver:11.0f} {worker_mib:11.0f}", flush=True)


if __name__ == "__main__":
    main()
