"""The query guard against the engine's own parser: generated queries (escapes, comments, the four string
kinds, IRIs with '#', odd case and white space, nested subqueries, every form of SERVICE) and updates; the
SSRF queries of issue 17 against a listening canary through the library, the HTTP server and the CLI."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from conftest import HARDENED
from support import canary_listener, run_cli

from kb.errors import QueryRejected, TrialKBError
from kb.sandbox import network_sandbox_active, run_isolated
from kb.sparql import check_query, execute
from kb.sparql_guard import grammar_view, scan_query
from ontology.namespaces import PREFIXES

PREFIX_MAP = {prefix: str(iri) for prefix, iri in PREFIXES.items()}
SEED = 20261207
QUERIES = 1500
UPDATES = 600
DEEP_NOT = "SELECT * WHERE { FILTER(" + "!" * 15000 + "true) }"


# ------------------------------------------------------------------------------------------- generator

DECLARATIONS = [
    "PREFIX ex: <http://example.org/>",
    "PREFIX add: <http://example.org/add#>",
    "PREFIX copy: <http://example.org/copy/>",
    "PREFIX move: <urn:move:>",
    "PREFIX service: <http://example.org/service/>",
    "PREFIX insert: <http://example.org/insert/>",
    "BASE <http://example.org/base/>",
]
# Terms that fooled the old tokenizer, or might fool another: local-name escapes, '#' in IRIs and strings,
# the four string kinds with escapes, names that look like keywords.
TERMS = [
    "?s",
    "$o",
    "?service",
    "ex:plain",
    r"ex:a\#b",
    r"ex:a\'",
    r"ex:a\.b",
    r"ex:a\~",
    r"ex:a\-b",
    r"ex:a\?b",
    r"ex:a\,b",
    "ex:a%23b",
    "add:x",
    "copy:y",
    "service:z",
    "insert:data",
    "<http://example.org/x#frag>",
    "<http://example.org/a?b=c#d>",
    "<urn:x#y>",
    '"a#b"',
    r'"a\"b # c"',
    r"'a\'b # c'",
    '"""a "b" ""c # d"""',
    "'''a 'b' ''c # d'''",
    r'"\u0022 # SERVICE"',
    r'"tab\tnew\n"',
    '"SERVICE <http://127.0.0.1:9/> {"',
    '"x"@en',
    '"1"^^<http://www.w3.org/2001/XMLSchema#integer>',
    "42",
    "-1.5e3",
    "true",
]
KEYWORDS = ["SERVICE", "SILENT", "SELECT", "WHERE", "FILTER", "OPTIONAL", "GRAPH", "BIND", "AS", "ASK"]
SPACES = [" ", "  ", "\n", "\t", "\r\n", "\r", " \n "]


@dataclass(frozen=True)
class Generated:
    text: str
    has_service: bool


class QueryGenerator:
    """Random queries that SPARQL parsers should agree on; `has_service` says whether one holds a real
    SERVICE clause (not one inside a string, an IRI or a comment)."""

    def __init__(self, seed: int, service_port: int) -> None:
        self.random = random.Random(seed)
        self.target = f"http://127.0.0.1:{service_port}/sparql"
        self.has_service = False
        self.binds = 0
        self.declared: set[str] = set()

    def case(self, word: str) -> str:
        roll = self.random.random()
        if roll < 0.6:
            return word
        if roll < 0.8:
            return word.lower()
        return "".join(c.upper() if self.random.random() < 0.5 else c.lower() for c in word)

    def space(self) -> str:
        if self.random.random() < 0.15:  # a comment that holds what a tokenizer might take for code
            body = self.random.choice(
                [f"SERVICE <{self.target}> {{ ?s ?p ?o }}", "'", '"', "{", "}", "\\u000A ?x", "\u2028"]
            )
            return f" #{body}" + self.random.choice(["\n", "\r\n", "\r"])
        return self.random.choice(SPACES)

    def usable(self, terms: list[str]) -> list[str]:
        """The terms whose prefix the query declares."""
        return [t for t in terms if not re.match(r"[a-z]+:", t) or t.split(":")[0] in self.declared]

    def term(self) -> str:
        return self.random.choice(self.usable(TERMS))

    def triple(self) -> str:
        subject = self.random.choice(self.usable([t for t in TERMS if t[0] not in "\"'-0123456789t"]))
        predicate = self.random.choice(["?p", "ex:p", r"ex:p\#q", "a", "<http://example.org/p#q>"])
        return f"{subject}{self.space()}{predicate}{self.space()}{self.term()}{self.space()}."

    def service(self, depth: int) -> str:
        self.has_service = True
        keyword = self.case("SERVICE")
        silent = self.case("SILENT") + self.space() if self.random.random() < 0.3 else ""
        target = self.random.choice([f"<{self.target}>", "?endpoint", "ex:endpoint", f"<{self.target}#x>"])
        # Half the time on one line with the term before it: where an escape once hid what followed.
        lead = f"?s ?p {self.random.choice(self.usable(TERMS))} . " if self.random.random() < 0.5 else ""
        shape = self.random.random()
        if shape < 0.15:  # no white space at all: '<' right after a term, '#' ending a would-be IRI
            return f"{lead}{self.case('FILTER')}(?s<?o){keyword}?endpoint#>\n{{ ?s ?p ?o }}"
        if shape < 0.3:
            return f"{lead}{keyword}<{self.target}>{{?s ?p ?o}}"
        if shape < 0.4:  # Oxigraph reads 'service:x {' after a FILTER as SERVICE and ':x'
            return f"{self.case('FILTER')}(true) {keyword}:endpoint {self.group(depth + 1)}"
        return f"{lead}{keyword} {silent}{target}{self.space()}{self.group(depth + 1)}"

    def element(self, depth: int) -> str:
        roll = self.random.random()
        if roll < 0.35:
            return self.triple()
        if roll < 0.45:
            return f"{self.case('FILTER')}(?s{self.random.choice(['<', ' < ', '!=', '='])}?o)"
        if roll < 0.5:
            return f'{self.case("FILTER")}(!({self.term()} = ?o) || regex(str(?o), "#"))'
        if roll < 0.58:
            self.binds += 1  # a variable is bound once per group: a fresh one each time
            return f"{self.case('BIND')}(<{self.target}> {self.case('AS')} ?bound{self.binds})"
        if roll < 0.66 and depth < 4:
            return f"{self.case('OPTIONAL')}{self.space()}{self.group(depth + 1)}"
        if roll < 0.72 and depth < 4:
            return f"{self.case('GRAPH')} ?g {self.group(depth + 1)}"
        if roll < 0.82 and depth < 4:
            inner = self.group(depth + 2)
            return f"{{ {self.case('SELECT')} * {self.case('WHERE')}{self.space()}{inner} }}"
        if roll < 0.9 and depth < 5:
            return self.service(depth)
        return self.triple()

    def group(self, depth: int) -> str:
        parts = [self.element(depth) for _ in range(self.random.randint(1, 3))]
        return "{" + self.space() + self.space().join(parts) + self.space() + "}"

    def prologue(self) -> str:
        """Sometimes only ``ex:`` and ``:``, sometimes also prefixes named like update operations."""
        declarations = [DECLARATIONS[0], f"PREFIX : <{self.target}/>"]
        if self.random.random() < 0.5:
            declarations += DECLARATIONS[1:-1]
        if self.random.random() < 0.3:
            declarations.append(DECLARATIONS[-1])
        self.declared = {d.split()[1][:-1] for d in declarations if d.startswith("PREFIX")}
        return " ".join(self.random.sample(declarations, len(declarations)))

    def query(self) -> Generated:
        self.has_service = False
        prologue = self.prologue()
        where = self.group(0)
        form = self.random.choice(["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"])
        if form == "SELECT":
            head = f"{self.case('SELECT')} {self.random.choice(['*', 'DISTINCT *', '?s ?o'])}"
        elif form == "CONSTRUCT":
            head = f"{self.case('CONSTRUCT')} {{ ?s ex:p {self.term()} }}"
        elif form == "DESCRIBE":
            head = f"{self.case('DESCRIBE')} ?s"
        else:
            head = self.case("ASK")
        dataset = self.random.choice(["", "", f" {self.case('FROM')} <http://example.org/g#1>"])
        tail = self.random.choice(["", " LIMIT 5", " ORDER BY ?s", ""])
        text = (
            f"{prologue}{self.space()}{head}{dataset}{self.space()}{self.case('WHERE')}{self.space()}{where}"
        )
        return Generated(text + (tail if form in {"SELECT", "DESCRIBE"} else ""), self.has_service)

    def update(self) -> str:
        prologue = self.prologue()
        operation = self.random.choice(
            [
                'INSERT DATA { ex:a ex:b "c # d" }',
                "DELETE DATA { ex:a ex:b ex:c }",
                "DELETE WHERE { ?s ?p ?o }",
                f"LOAD <{self.target}>",
                "LOAD SILENT <file:///etc/passwd> INTO GRAPH <http://example.org/g>",
                "CLEAR ALL",
                "CLEAR SILENT GRAPH <http://example.org/g>",
                "DROP DEFAULT",
                "CREATE GRAPH <http://example.org/g>",
                "ADD <http://example.org/a> TO <http://example.org/b>",
                "COPY DEFAULT TO <http://example.org/b>",
                "MOVE <http://example.org/a> TO DEFAULT",
                "WITH <http://example.org/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
                "INSERT { ?s add:p copy:o } WHERE { ?s ?p ?o }",
                "DELETE { ?s ?p ?o } INSERT { ?s ?p ex:a\\#b } WHERE { ?s ?p ?o }",
            ]
        )
        words = operation.split(" ")
        operation = " ".join(self.case(w) if w.isalpha() and w.isupper() else w for w in words)
        second = f" ;{self.space()}{self.case('CLEAR')} ALL" if self.random.random() < 0.2 else ""
        return f"{prologue}{self.space()}{operation}{second}"


def _engine_reading(queries: list[str], updates: list[str]) -> tuple[list[bool], list[bool]]:
    """Which texts Oxigraph parses as a query, and which as an update: in a child without network, so that
    no SERVICE or LOAD the engine might run can reach anything."""

    def read() -> tuple[list[bool], list[bool]] | None:
        if not network_sandbox_active():
            return None

        def parses(run: object) -> bool:
            try:
                run()  # type: ignore[operator]
            except SyntaxError:
                return False
            except Exception:  # noqa: BLE001 - parsed, then failed to run (no network, no file): parsed
                return True
            return True

        as_query = [parses(lambda q=q: ox.Store().query(q, prefixes=PREFIX_MAP)) for q in queries]
        as_update = [parses(lambda u=u: ox.Store().update(u, prefixes=PREFIX_MAP)) for u in updates]
        return as_query, as_update

    reading = run_isolated(read, timeout=300)
    if reading is None:
        pytest.skip("no network namespace here: the engine could reach the canary while it reads")
    return reading


@pytest.fixture(scope="module")
def canary() -> Iterator[tuple[int, list[str]]]:
    """A listening TCP socket on 127.0.0.1 whose thread records every connection made to it."""
    with canary_listener() as listening:
        yield listening


def test_generated_queries_agree_with_the_engine(canary: tuple[int, list[str]]) -> None:
    port, connections = canary
    generator = QueryGenerator(SEED, port)
    generated = [generator.query() for _ in range(QUERIES)]
    updates = [generator.update() for _ in range(UPDATES)]
    as_query, as_update = _engine_reading([g.text for g in generated], updates)
    parsed = [g for g, accepted in zip(generated, as_query, strict=True) if accepted]
    with_service = [g for g in parsed if g.has_service]
    # The generator must feed the comparison: most of its output is valid SPARQL, much of it with SERVICE.
    assert len(parsed) > QUERIES * 0.6 and len(with_service) > QUERIES * 0.2, (len(parsed), len(with_service))
    for query in with_service:
        with pytest.raises(QueryRejected, match="SERVICE|syntax|nests"):
            check_query(query.text, known_graphs=set())
    for query in parsed:
        if not query.has_service:
            # Nothing else in these queries is refusable but an unknown FROM graph.
            known = {"http://example.org/g#1"}
            assert check_query(query.text, known_graphs=known).text == query.text, query.text
    parsed_updates = [u for u, accepted in zip(updates, as_update, strict=True) if accepted]
    assert len(parsed_updates) > UPDATES * 0.8
    for update in parsed_updates:
        with pytest.raises(QueryRejected, match="read-only"):
            check_query(update, known_graphs=set())
    assert connections == []


def test_no_generated_update_passes_as_a_query(canary: tuple[int, list[str]]) -> None:
    """The other direction: whatever the guard lets through, the engine reads as a query, never an update."""
    port, _ = canary
    generator = QueryGenerator(SEED + 1, port)
    texts = [generator.update() for _ in range(UPDATES)] + [generator.query().text for _ in range(500)]
    accepted = []
    for text in texts:
        try:
            check_query(text, known_graphs={"http://example.org/g#1"})
        except QueryRejected:
            continue
        accepted.append(text)
    assert accepted, "the guard accepted nothing: the comparison is empty"
    _, as_update = _engine_reading([], accepted)
    assert not any(as_update), [t for t, u in zip(accepted, as_update, strict=True) if u][:3]


# ------------------------------------------------------------------------------------- fixed readings


@pytest.mark.parametrize(
    "query",
    [
        "PREFIX add: <http://example.org/add#> SELECT * WHERE { ?s add:p ?o }",
        "PREFIX copy: <http://example.org/c/> PREFIX move: <urn:m:> ASK { ?s copy:p move:o }",
        "PREFIX insert: <http://example.org/i/> PREFIX with: <urn:w:> SELECT * { ?s insert:data with:x }",
        "SELECT ?service WHERE { ?service ?p ?o } # SERVICE <http://127.0.0.1:9/> { }",
        'SELECT * WHERE { ?s ?p "SERVICE <http://127.0.0.1:9/> { ?a ?b ?c }" }',
        'SELECT * WHERE { ?s ?p "caf\\u00e9" }',
    ],
)
def test_legitimate_queries_pass(query: str) -> None:
    assert check_query(query, known_graphs=set()).form in {"SELECT", "ASK"}


@pytest.mark.parametrize(
    "query",
    [
        "PREFIX ex: <http://e/> SELECT * WHERE { ?s ?p ex:a\\#b . SERVICE <http://127.0.0.1:9/> { ?x ?y ?z } }",
        "PREFIX ex: <http://e/> SELECT * WHERE { ?s ?p ex:a\\' . SERVICE <http://127.0.0.1:9/> { ?x ?y ?z } }",
        "SELECT * WHERE { # c\r SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } \n ?s ?p ?o }",
        "SELECT * WHERE { ?s ?p ?o FILTER(?s<?o)SERVICE?x#>\n{ ?s ?p ?o } }",
        "SELECT * WHERE { { SELECT * WHERE { { SELECT * { SERVICE SILENT ?x { ?s ?p ?o } } } } } }",
    ],
)
def test_service_is_refused_by_the_grammar_alone(query: str) -> None:
    """The authoritative reading refuses SERVICE even where a lexer is misled ('<' read as an IRI's start).
    (rdflib fails to parse a SERVICE clause after any '#' in the text: a refusal too, as a syntax error.)"""
    with pytest.raises(QueryRejected, match="SERVICE|syntax error"):
        grammar_view(query)


def test_lexer_only_reading_is_completed_by_the_grammar() -> None:
    hidden = "SELECT * WHERE { ?s ?p ?o FILTER(?s<?o)SERVICE?x#>\n{ ?s ?p ?o } }"
    assert scan_query(hidden).form == "SELECT"  # the lexer takes '<?o)SERVICE?x#>' for an IRI
    check_query(hidden, known_graphs=set(), grammar=False)
    with pytest.raises(QueryRejected, match="SERVICE"):
        check_query(hidden, known_graphs=set())


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (DEEP_NOT, "nests deeper"),
        ("SELECT * WHERE " + "{" * 40 + "?s ?p ?o" + "}" * 40, "nests deeper"),
        ("SELECT * WHERE { FILTER(?s<?o&&" + "!" * 15000 + "true>?x) }", "syntax|nests"),
        ("SELECT * WHERE { FILTER(?s<?o&&" + "(" * 3000 + "true" + ")" * 3000 + ">?x) }", "nests"),
    ],
)
def test_deep_queries_are_refused_before_they_run(query: str, message: str) -> None:
    with pytest.raises(QueryRejected, match=message):
        check_query(query, known_graphs=set())


def test_crashing_query_becomes_a_clean_error() -> None:
    """With the checks bypassed, the query that overflows Oxigraph's parser stack kills only the child."""
    store = ox.Store()
    with pytest.raises(TrialKBError, match="crashed its process"):
        run_isolated(lambda: list(store.query(DEEP_NOT)), timeout=60)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------- SSRF canary


def _ssrf_queries(port: int) -> list[str]:
    target = f"http://127.0.0.1:{port}/sparql"
    return [
        f"PREFIX ex: <http://example.org/> SELECT * WHERE {{ ?s ?p ex:a\\#b . SERVICE <{target}> {{ ?x ?y ?z }} }}",
        f"PREFIX ex: <http://example.org/> SELECT * WHERE {{ ?s ?p ex:a\\' . SERVICE <{target}> {{ ?x ?y ?z }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o FILTER(?s<?o)SERVICE?x#>\n{{ ?s ?p ?o }} BIND(<{target}> AS ?x) }}",
        f"ASK {{ # \r SERVICE SILENT <{target}> {{ ?s ?p ?o }}\n }}",
    ]


def test_ssrf_refused_by_check_and_execute(canary: tuple[int, list[str]], sample_kb: Path) -> None:
    port, connections = canary
    from kb.facade import KnowledgeBase

    kb = KnowledgeBase(sample_kb)
    for query in _ssrf_queries(port):
        with pytest.raises(QueryRejected):
            plan = check_query(query, known_graphs=kb.graph_names())
            execute(kb.store.native, plan, "json")
        with pytest.raises(QueryRejected):
            kb.query(query)
    assert connections == []


@pytest.mark.e2e
def test_ssrf_refused_by_the_server(canary: tuple[int, list[str]], live_server, sample_kb: Path) -> None:  # type: ignore[no-untyped-def]
    port, connections = canary
    base = live_server(sample_kb, **HARDENED)
    for query in _ssrf_queries(port):
        response = httpx.get(base + "/sparql", params={"query": query}, timeout=30)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        posted = httpx.post(
            base + "/sparql", content=query, headers={"Content-Type": "application/sparql-query"}, timeout=30
        )
        assert posted.status_code == 400, posted.text
    assert connections == []


def test_ssrf_refused_by_the_cli(canary: tuple[int, list[str]], sample_kb: Path) -> None:
    port, connections = canary
    for query in _ssrf_queries(port) + [DEEP_NOT]:
        result = run_cli("sparql", query, home=sample_kb, timeout=120)
        assert result.returncode != 0
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert connections == []


def test_hostile_text_is_refused_never_raised(canary: tuple[int, list[str]]) -> None:
    """Mangled queries (characters dropped, doubled, swapped for odd ones, huge numbers, deep brackets):
    the guard answers each with a plan or `QueryRejected`, whatever the lexer or rdflib's parser meets."""
    port, _ = canary
    generator = QueryGenerator(SEED + 2, port)
    rng = random.Random(SEED + 3)
    odd = [
        "\\",
        "\x01",
        "\ud800",
        "\u2028",
        "'''",
        '"""',
        "<",
        ">",
        "#",
        "\\u0022",
        "\\U0010FFFF",
        "9" * 5000,
    ]
    odd += ["(" * 300, "{" * 300, "[" * 300, "!" * 300]
    outcomes = {"plan": 0, "refused": 0}
    for _ in range(400):
        text = list(generator.query().text)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(text))
            action = rng.random()
            if action < 0.3:
                del text[position]
            elif action < 0.5:
                text.insert(position, text[position])
            else:
                text.insert(position, rng.choice(odd))
        try:
            check_query("".join(text), known_graphs={"http://example.org/g#1"})
            outcomes["plan"] += 1
        except QueryRejected:
            outcomes["refused"] += 1
    assert outcomes["plan"] and outcomes["refused"], outcomes
