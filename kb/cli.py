"""The `trialkb` command line: parses arguments, calls one `KnowledgeBase` method, prints the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from kb.errors import TrialKBError


class Context:
    """What every command gets: the chosen KB directory, settings, output options."""

    def __init__(
        self, home: Path | None, quiet: bool, vectors: str | None = None, **store: str | None
    ) -> None:
        from kb.settings import Settings

        # Options given override the environment (click has read TRIALKB_* into them already).
        chosen = {"vectors": vectors, **store}
        self.settings = Settings(**{name: value for name, value in chosen.items() if value})  # type: ignore[arg-type]
        self.home = home
        self.quiet = quiet
        self._kb: Any = None

    @property
    def kb(self) -> Any:
        if self._kb is None:
            from kb.facade import KnowledgeBase

            self._kb = KnowledgeBase(self.home, self.settings)
        return self._kb

    def progress(self, label: str, done: int, total: int) -> None:
        # Progress only on a terminal: pipes and --quiet stay clean.
        if self.quiet or not sys.stderr.isatty():
            return
        end = "\n" if done >= total else ""
        click.echo(f"\r{label}: {done}/{total}", err=True, nl=False)
        if end:
            click.echo("", err=True)


pass_context = click.make_pass_decorator(Context)


def write_output(data: bytes | str, output: Path | None) -> None:
    """Write to ``-o FILE`` (atomically) or standard output."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if output is None:
        sys.stdout.buffer.write(raw)
        if raw and not raw.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
        return
    from kb.store import write_atomic

    write_atomic(output, raw)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="TRIALKB_HOME",
    help="Knowledge base directory (default: the bundled KB built from the seed). Env: TRIALKB_HOME.",
)
@click.option(
    "--vectors",
    metavar="URI",
    help="Keep the passage vectors in Milvus: a Milvus Lite file (PATH.db) or a server (http://host:19530); "
    "default: FAISS files in the KB. Env: TRIALKB_VECTORS.",
)
@click.option(
    "--store",
    metavar="URL",
    envvar="TRIALKB_STORE",
    help="Keep the graphs in a remote SPARQL 1.1 store: its query endpoint (every read goes there). "
    "Env: TRIALKB_STORE.",
)
@click.option(
    "--store-update",
    metavar="URL",
    envvar="TRIALKB_STORE_UPDATE",
    help="The remote store's SPARQL Update endpoint. Env: TRIALKB_STORE_UPDATE.",
)
@click.option(
    "--store-graphs",
    metavar="URL",
    envvar="TRIALKB_STORE_GRAPHS",
    help="The remote store's Graph Store Protocol endpoint (each graph is written with one PUT). "
    "Env: TRIALKB_STORE_GRAPHS.",
)
@click.option(
    "--store-merged-graph",
    metavar="IRI",
    envvar="TRIALKB_STORE_MERGED_GRAPH",
    help="Keep the merge of the KB's graphs in this named graph, for stores whose default graph is the union "
    "of all graphs (Virtuoso). Env: TRIALKB_STORE_MERGED_GRAPH.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.version_option(package_name="trialkb")
@click.pass_context
def cli(
    ctx: click.Context,
    home: Path | None,
    vectors: str | None,
    store: str | None,
    store_update: str | None,
    store_graphs: str | None,
    store_merged_graph: str | None,
    quiet: bool,
) -> None:
    """TrialKB: a knowledge base of clinical-trial publications, with SPARQL, search and questions."""
    ctx.obj = Context(
        home,
        quiet,
        vectors,
        store=store,
        store_update=store_update,
        store_graphs=store_graphs,
        store_merged_graph=store_merged_graph,
    )


@cli.command()
@pass_context
def build(context: Context) -> None:
    """(Re)build the KB and its index from the sources in the KB directory (the bundled seed by default)."""
    report = context.kb.build(progress=context.progress)
    for outcome in report.outcomes:
        click.echo(f"{outcome.status:9} {outcome.path}: {outcome.message}", err=True)
    click.echo(f"built {context.kb.home}: {report.documents} documents, {report.triples} triples", err=True)
    if report.failed:
        raise SystemExit(1)


LISTED_OUTCOMES = 50
"""Up to this many outcomes are printed one per line; a bulk load prints its counts and failures only."""


def ingest_summary(outcomes: list[Any]) -> dict[str, Any]:
    """The machine-readable counts of an ingest: ingested, unchanged, skipped and failed (with reasons)."""

    def listed(status: str) -> list[dict[str, Any]]:
        return [
            {"path": o.path, "origin": o.origin, "document": o.document_id, "reason": o.message}
            for o in outcomes
            if o.status == status
        ]

    return {
        "ingested": sum(o.status in ("added", "updated") for o in outcomes),
        "unchanged": sum(o.status == "unchanged" for o in outcomes),
        "skipped": listed("skipped"),
        "failed": listed("failed"),
    }


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Ingest documents that mention no trial too.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Documents per commit (default 200); an interrupted load redoes at most one batch.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes that extract documents (default: the number of CPUs; 1: in this process).",
)
@click.option(
    "--cluster",
    metavar="ADDRESS",
    envvar="TRIALKB_CLUSTER",
    default=None,
    help="Extract on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) instead of local "
    "processes; this process commits each batch.",
)
@pass_context
def ingest(
    context: Context,
    files: tuple[Path, ...],
    force: bool,
    as_json: bool,
    batch_size: int | None,
    workers: int | None,
    cluster: str | None,
) -> None:
    """Add documents (plain text or Markdown, MEDLINE/PubMed XML, PMC JATS XML; .gz too) to the KB in
    --home, creating it if new."""
    shown = not context.quiet and sys.stderr.isatty()

    def show(state: Any) -> None:
        click.echo(f"\r{state.line()}\033[K", err=True, nl=False)

    from kb.bulk import default_workers

    if cluster is not None and workers is not None:
        raise TrialKBError("--cluster and --workers exclude each other: the cluster's workers extract")
    report = context.kb.ingest(
        list(files),
        force=force,
        batch_size=batch_size,
        on_progress=show if shown else None,
        workers=workers or default_workers(),  # capped at the documents to extract, batch by batch
        cluster=cluster or None,
    )
    if shown:
        click.echo("", err=True)
    outcomes = list(report.outcomes)
    summary = ingest_summary(outcomes)
    if as_json:
        print_json(
            {
                "documents": report.documents,
                "triples": report.triples,
                **summary,
                "files": [o.__dict__ for o in outcomes],
            }
        )
    else:
        many = len(outcomes) > LISTED_OUTCOMES
        for outcome in outcomes:
            if many and outcome.status != "failed":
                continue
            inside = outcome.origin and Path(outcome.origin).name != outcome.path  # an article of an XML file
            where = f"{outcome.origin}: {outcome.path}" if inside else outcome.path
            click.echo(f"{outcome.status:9} {where}: {outcome.message}", err=outcome.status == "failed")
        if many:
            click.echo(
                f"{summary['ingested']} ingested, {summary['unchanged']} unchanged, "
                f"{len(summary['skipped'])} skipped, {len(summary['failed'])} failed",
                err=True,
            )
        if not all(outcome.status == "failed" for outcome in outcomes):
            # When every file failed there is nothing more to say than one line per failure.
            click.echo(f"{context.kb.home}: {report.documents} documents, {report.triples} triples", err=True)
    if report.failed:
        raise SystemExit(1)


@cli.command()
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    default=None,
    help="json, xml, csv, tsv for SELECT/ASK (default json); turtle, ntriples, rdfxml, jsonld for graphs (default turtle).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
@click.option(
    "--default-graph", "default_graphs", multiple=True, help="A graph IRI to use as the default graph."
)
@click.option("--named-graph", "named_graphs", multiple=True, help="A graph IRI available to GRAPH.")
@pass_context
def sparql(
    context: Context,
    query: str,
    fmt: str | None,
    output: Path | None,
    default_graphs: tuple[str, ...],
    named_graphs: tuple[str, ...],
) -> None:
    """Run a read-only SPARQL query: QUERY text, @FILE, or - for standard input."""
    text = read_argument(query)
    # In a child process with the deadline, like the server's workers: no query can crash or hang the CLI.
    result = context.kb.query(
        text, fmt, default_graphs=default_graphs, named_graphs=named_graphs, isolated=True
    )
    write_output(result.body, output)
    if result.truncated:
        click.echo(f"warning: result cut at {result.count} rows (TRIALKB_MAX_RESULTS)", err=True)


def read_argument(value: str) -> str:
    """``@FILE`` reads a file, ``-`` standard input, anything else is the text itself."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TrialKBError(f"cannot read {path}: {error}") from None
    return value


@cli.command()
@pass_context
def validate(context: Context) -> None:
    """Check the KB against the SHACL shapes; exit 1 when it does not conform."""
    report = context.kb.validate()
    click.echo(report.text)
    if not report.conforms:
        raise SystemExit(1)


@cli.command()
@click.option(
    "--format", "fmt", default="trig", type=click.Choice(["ttl", "trig", "nq", "jsonld"]), show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
@pass_context
def export(context: Context, fmt: str, output: Path | None) -> None:
    """Dump the KB: ttl (merged), trig and nq (named graphs), jsonld."""
    write_output(context.kb.export(fmt), output)


@cli.command()
@click.argument("text", required=False)
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="How many passages.")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.option(
    "--jsonl",
    type=click.Path(allow_dash=True, path_type=Path),
    help="One query per line (FILE or -); one JSON array per line.",
)
@click.option("--document", help="Only passages of this document id.")
@click.option("--trial", help="Only passages of documents about this trial (name, label or NCT id).")
@click.option("--mode", type=click.Choice(["fused", "dense", "bm25"]), default="fused", show_default=True)
@pass_context
def search(
    context: Context,
    text: str | None,
    k: int,
    as_json: bool,
    jsonl: Path | None,
    document: str | None,
    trial: str | None,
    mode: str,
) -> None:
    """Ranked passages for TEXT: dense and keyword retrieval fused by normalised score."""
    if jsonl is not None:
        stream = sys.stdin if str(jsonl) == "-" else open(jsonl, encoding="utf-8")  # noqa: SIM115
        with stream:
            for line in stream:
                if line.strip():
                    hits = context.kb.search(line.strip(), k, document=document, trial=trial, mode=mode)
                    click.echo(json.dumps([hit.to_dict() for hit in hits], ensure_ascii=False))
        return
    if not text:
        raise click.UsageError("give TEXT or --jsonl FILE")
    hits = context.kb.search(text, k, document=document, trial=trial, mode=mode)
    if as_json:
        print_json([hit.to_dict() for hit in hits])
        return
    if not hits:
        click.echo("no passages found", err=True)
    for rank, hit in enumerate(hits, 1):
        found_by = ", ".join(f"{name}#{position}" for name, position in hit.retrievers.items())
        meta = hit.metadata
        section = (
            f", {meta['heading']} section" if meta.get("heading") else ""
        )  # XML sources name their sections
        click.echo(
            f"{rank}. [{hit.score:.4f}] {meta.get('document')} {hit.id} ({meta.get('start')}-{meta.get('end')}{section}; {found_by})"
        )
        click.echo(f"   {hit.text}")


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1; TRIALKB_HOST).")
@click.option("--port", default=None, type=int, help="Port (default 8000; TRIALKB_PORT).")
@pass_context
def serve(context: Context, host: str | None, port: int | None) -> None:
    """Serve the SPARQL endpoint, the API and the web page over HTTP."""
    from kb.api.server import serve as run_server

    run_server(context.kb, host or context.settings.host, port or context.settings.port)


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON (the shape of GET /api/ask).")
@click.option(
    "--jsonl",
    type=click.Path(allow_dash=True, path_type=Path),
    help="One question per line (FILE or -); one JSON answer per line, loading the KB once.",
)
@pass_context
def ask(context: Context, question: str | None, as_json: bool, jsonl: Path | None) -> None:
    """Answer a plain-English QUESTION from the KB, with its evidence and SPARQL, or say it is not stated."""
    # A missing or damaged KB is an error (exit 1), not a question left unanswered: answering would only
    # abstain, and the user must learn how to fix the KB. Loading verifies the snapshot's checksum.
    context.kb.store  # noqa: B018
    if jsonl is not None:
        stream = sys.stdin if str(jsonl) == "-" else open(jsonl, encoding="utf-8")  # noqa: SIM115
        with stream:
            for line in stream:
                text = line.strip()
                if not text:
                    continue
                if text.startswith("{"):
                    try:
                        text = str(json.loads(text).get("q", ""))
                    except (ValueError, AttributeError):
                        pass
                click.echo(json.dumps(context.kb.ask(text).to_dict(), ensure_ascii=False, default=str))
        return
    if question is None:
        raise click.UsageError("give a QUESTION or --jsonl FILE")
    answer = context.kb.ask(question)
    if as_json:
        print_json(answer.to_dict())
        return
    from kb.qa.cli_output import render_answer

    click.echo(render_answer(answer))


@cli.command(name="eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the scores and rows as JSON.")
@pass_context
def eval_command(context: Context, file: Path, as_json: bool) -> None:
    """Score a question file (id, q, kind, gold): accuracy by kind, abstention precision/recall, wrong answers."""
    from kb.qa.evaluate import evaluate

    context.kb.store  # noqa: B018  (a damaged or missing KB is an error, as for `ask`, not a run of abstentions)
    report = evaluate(context.kb, file)
    if as_json:
        print_json(report.to_dict())
    else:
        click.echo(report.render())


@cli.command()
@click.argument("nct_ids", nargs=-1, metavar="NCT...")
@click.option(
    "--record",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Import this saved ClinicalTrials.gov API v2 record (JSON) instead of fetching one.",
)
@click.option(
    "--online/--offline",
    default=None,
    help="Fetch from ClinicalTrials.gov (and cache), or use the cache only. Default: TRIALKB_ONLINE (off).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def link(
    context: Context, nct_ids: tuple[str, ...], record: Path | None, online: bool | None, as_json: bool
) -> None:
    """Link trials to their ClinicalTrials.gov records: each record goes into its own named graph."""
    report = context.kb.link(list(nct_ids), record, offline=None if online is None else not online)
    if as_json:
        print_json(report.to_dict())
    else:
        for outcome in report.outcomes:
            click.echo(
                f"{outcome.status:7} {outcome.nct_id}: {outcome.message}", err=outcome.status == "failed"
            )
        click.echo(f"{context.kb.home}: {report.triples} triples", err=True)
    if report.failed:
        raise SystemExit(1)


@cli.command()
@click.argument("nct_ids", nargs=-1, required=True, metavar="NCT...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object; a list for several ids).")
@pass_context
def reconcile(context: Context, nct_ids: tuple[str, ...], as_json: bool) -> None:
    """Where each trial's publications and its registry record agree or differ, with both sources."""
    results = [context.kb.reconcile(nct_id) for nct_id in nct_ids]
    if as_json:
        print_json(results[0].to_dict() if len(results) == 1 else [result.to_dict() for result in results])
    else:
        click.echo("\n".join(result.render_text() for result in results), nl=False)


def main() -> None:
    """Console entry point: domain errors become one clear line on standard error, never a traceback."""
    try:
        _run()
    finally:
        # The command is done: keep the interpreter's final collection from walking every object that the
        # imports made (pydantic's alone cost 0.15 s at exit). Exit handlers and stream flushing still run.
        # https://docs.python.org/3/library/gc.html#gc.freeze
        import gc

        gc.freeze()


def _run() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(130) from None
    except click.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
    except TrialKBError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:
        raise SystemExit(0) from None
    except OSError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
