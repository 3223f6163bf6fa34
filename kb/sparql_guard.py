"""What a SPARQL request may do, decided from the query as SPARQL's grammar reads it, before anything runs.

Two readings, one cheap and one authoritative:

* `scan_query`, the SPARQL 1.1 lexer (the grammar's terminals, section 19.8: IRIs, the four string kinds
  with their escapes, prefixed names with ``PN_LOCAL_ESC`` and ``%`` escapes, comments ending at CR or
  LF) and a pass over its tokens: the query form, ``FROM``/``FROM NAMED``, ``SERVICE``, update operations,
  nesting depth. Linear in the query, so the server can afford it for every request in its event loop.
* `grammar_view`, a full parse by rdflib's SPARQL 1.1 grammar, walked for ``SERVICE`` anywhere (subqueries
  included), the form, the dataset clause and the depth of group patterns and expressions; update text is
  recognised by the update grammar. A lexer alone cannot tell ``<`` the operator from ``<`` the start of an
  IRI, so this reading decides; it costs milliseconds (seconds for hostile input), so it runs where the
  query runs: in a killable worker process, or in the caller's process for library use.

Text is never executed in a form the checks did not read: the parse sees the query's own characters, with
line ends normalised (rdflib ends a comment only at LF, Oxigraph at CR too) and ``\\u`` escapes inside
strings and IRIs decoded (rdflib does not read them there; Oxigraph does).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from kb.errors import QueryRejected
from ontology.namespaces import PREFIXES

FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_OPERATIONS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
# rdflib's parser recurses about 30 Python frames per nested bracket: this lets a query at the nesting cap
# be read whatever the caller's stack depth; deeper input ends in RecursionError, which is a refusal.
_PARSE_RECURSION_LIMIT = 4000


@dataclass(frozen=True)
class QueryPlan:
    """A checked query: its form and the graphs its dataset clauses name."""

    text: str
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    from_graphs: tuple[str, ...]
    from_named_graphs: tuple[str, ...]
    # The standard prefixes (`ontology.PREFIXES`) the query uses without declaring them; None: not known.
    prefixes: tuple[str, ...] | None = None

    @property
    def returns_graph(self) -> bool:
        return self.form in {"CONSTRUCT", "DESCRIBE"}


@dataclass(frozen=True)
class QueryShape:
    """What one reading of a query found: its form, dataset graphs, prefixes and depth."""

    form: str
    from_graphs: tuple[str, ...]
    from_named_graphs: tuple[str, ...]
    prefixes: tuple[str, ...]
    depth: int


# ---------------------------------------------------------------------------------------------- lexer

_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHARS_U = _BASE + "_"
_CHARS = _CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_ECHAR = r"\\[tbnrf\\\"']"
_PN_PREFIX = rf"[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?"
_PN_LOCAL = rf"(?:[{_CHARS_U}:0-9]|{_PLX})(?:(?:[{_CHARS}.:]|{_PLX})*(?:[{_CHARS}:]|{_PLX}))?"
_HEAD = re.compile(
    "|".join(
        [
            r"(?P<space>[ \t\r\n]+)",
            r"(?P<comment>#[^\r\n]*)",
            rf"(?P<iri><(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*>)",
            rf'(?P<string>"""(?:(?:"|"")?(?:[^"\\]|{_ECHAR}|{_UCHAR}))*"""'
            rf"|'''(?:(?:'|'')?(?:[^'\\]|{_ECHAR}|{_UCHAR}))*'''"
            rf'|"(?:[^"\\\n\r]|{_ECHAR}|{_UCHAR})*"'
            rf"|'(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*')",
            rf"(?P<var>[?$][{_CHARS_U}0-9][{_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*)",
            rf"(?P<bnode>_:[{_CHARS_U}0-9](?:[{_CHARS}.]*[{_CHARS}])?)",
        ]
    )
)
_PNAME = re.compile(rf"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?")
_NAME_RUN = re.compile(rf"[{_CHARS}.]*")  # where a prefix starting here could end: a ':' must follow it
_TAIL = re.compile(
    "|".join(
        [
            r"(?P<number>[0-9]+\.[0-9]*[eE][+-]?[0-9]+|\.[0-9]+[eE][+-]?[0-9]+|[0-9]+[eE][+-]?[0-9]+"
            r"|[0-9]*\.[0-9]+|[0-9]+)",
            r"(?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)",
            r"(?P<word>[A-Za-z_][A-Za-z0-9_]*)",
            r"(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\].,;*/+\-!=<>|^?])",
        ]
    )
)
_OPEN = {"{", "(", "["}
_CLOSE = {"}", ")", "]"}
_UNARY = {"!", "-", "+", "^"}  # Oxigraph's parser recurses once per unary operator, even in long chains


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def tokens(text: str) -> Iterator[Token]:
    """The query's SPARQL tokens, comments and white space left out; `QueryRejected` at a character that
    starts no token. Linear in the text: a prefixed name is not tried again inside a run of name characters
    already seen to have no ':' after it (``a.a.a.a...`` would otherwise be read once per token)."""
    position, end = 0, len(text)
    no_prefix_until = 0
    while position < end:
        match = _HEAD.match(text, position)
        kind = match.lastgroup or "" if match else ""
        if match is None and position >= no_prefix_until:
            match = _PNAME.match(text, position)
            if match is not None:
                kind = "pname"
            else:
                run_end = _NAME_RUN.match(text, position).end()  # type: ignore[union-attr]
                # No prefix can start in this run: no ':' after it, or a '.' before that ':' (a prefix
                # never ends with '.'), so every start in it would fail the same way.
                if run_end >= end or text[run_end] != ":" or text[run_end - 1] == ".":
                    no_prefix_until = run_end
        if match is None:
            match = _TAIL.match(text, position)
            kind = match.lastgroup or "" if match else ""
        if match is None:
            raise QueryRejected(
                f"SPARQL syntax error at {_position(text, position)}: unexpected {text[position]!r}"
            )
        if kind not in {"space", "comment"}:
            yield Token(kind, match.group(0), position)
        position = match.end()


def _expand(name: str, prefixes: dict[str, str], base: str | None) -> str:
    """A FROM graph as an IRI: a prefixed name through the query's and the predeclared prefixes; a relative
    IRI against BASE. Left as written when it cannot be resolved (then no graph of the KB matches it)."""
    if name.startswith("<"):
        iri = name[1:-1]
    else:
        prefix, local = name.split(":", 1)
        if prefix not in prefixes:
            return name
        iri = prefixes[prefix] + _unescape_local(local)
    return urljoin(base, iri) if base and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", iri) else iri


def _unescape_local(local: str) -> str:
    return re.sub(r"\\(.)", r"\1", local)


def scan_query(text: str) -> QueryShape:
    """The cheap reading: the form, dataset graphs, undeclared standard prefixes and nesting depth, from the
    query's tokens; `QueryRejected` for SERVICE, updates and what is no query at all."""
    declared: dict[str, str] = {}
    base: str | None = None
    stream = list(tokens(text))
    index = 0
    # Prologue: BASE <iri> | PREFIX pname: <iri>, in any order and number.
    while index < len(stream):
        word = stream[index].text.upper() if stream[index].kind == "word" else ""
        if word == "BASE" and index + 1 < len(stream) and stream[index + 1].kind == "iri":
            base = _expand(stream[index + 1].text, {}, base)
            index += 2
        elif (
            word == "PREFIX"
            and index + 2 < len(stream)
            and stream[index + 1].kind == "pname"
            and stream[index + 1].text.endswith(":")
            and stream[index + 2].kind == "iri"
        ):
            declared[stream[index + 1].text[:-1]] = _expand(stream[index + 2].text, {}, base)
            index += 3
        else:
            break
    first = stream[index] if index < len(stream) else None
    keyword = first.text.upper() if first is not None and first.kind == "word" else ""
    if keyword in UPDATE_OPERATIONS:
        raise QueryRejected(f"this endpoint is read-only: {keyword} is a SPARQL update")
    if keyword not in FORMS:
        raise QueryRejected("not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE")
    known_prefixes = {**PREFIXES, **declared}
    from_graphs: list[str] = []
    from_named: list[str] = []
    used: set[str] = set()
    depth = deepest = run = 0
    opened: list[int] = []  # the levels each open bracket added
    for position in range(index, len(stream)):
        token = stream[position]
        upper = token.text.upper() if token.kind == "word" else ""
        if upper == "SERVICE":
            raise QueryRejected("SERVICE is not allowed: this endpoint never queries other services")
        if token.kind == "pname":
            prefix = token.text.split(":", 1)[0]
            if prefix not in declared and prefix in PREFIXES:
                used.add(prefix)
        if upper == "FROM":
            named = position + 1 < len(stream) and stream[position + 1].text.upper() == "NAMED"
            target = position + (2 if named else 1)
            if target < len(stream) and stream[target].kind in {"iri", "pname"}:
                iri = _expand(stream[target].text, known_prefixes, base)
                (from_named if named else from_graphs).append(iri)
        if token.kind == "punct" and token.text in _UNARY:
            run += 1
            deepest = max(deepest, depth + run)
            continue
        if token.text in _OPEN and token.kind == "punct":
            opened.append(1 + run)  # '!(' is two levels, as the parser's recursion goes
            depth += opened[-1]
            deepest = max(deepest, depth)
        elif token.text in _CLOSE and token.kind == "punct" and opened:
            depth -= opened.pop()
        run = 0
    return QueryShape(keyword, tuple(from_graphs), tuple(from_named), tuple(sorted(used)), deepest)


# -------------------------------------------------------------------------------------------- grammar

# Nodes of rdflib's parse tree that stand for one level of braces or brackets (a group pattern, a
# parenthesised expression or function argument, a unary operator; a property path inside another, that
# is in parentheses): their nesting is the query's depth. rdflib flattens collections and blank-node
# property lists into triples, so their brackets are counted by the lexer only (and bounded here by the
# parser's recursion limit).
_NESTING_NODES = {
    "GroupGraphPatternSub",
    "SubSelect",
    "ConditionalOrExpression",
    "UnaryNot",
    "UnaryMinus",
    "UnaryPlus",
}
_FORM_NODES = {
    "SelectQuery": "SELECT",
    "ConstructQuery": "CONSTRUCT",
    "DescribeQuery": "DESCRIBE",
    "AskQuery": "ASK",
}


def grammar_text(text: str) -> str:
    """The query as rdflib's grammar must see it to read it as Oxigraph does (see the module docstring)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\\u" not in text and "\\U" not in text:
        return text
    parts: list[str] = []
    position = 0
    for token in tokens(text):
        if token.kind in {"string", "iri"} and ("\\u" in token.text or "\\U" in token.text):
            parts.append(text[position : token.start])
            parts.append(_decode_escapes(token.text, token.kind))
            position = token.start + len(token.text)
    parts.append(text[position:])
    return "".join(parts)


def _decode_escapes(token: str, kind: str) -> str:
    pieces = re.split(f"({_UCHAR})", token)
    return "".join(_decoded(piece, kind) if index % 2 else piece for index, piece in enumerate(pieces))


def _decoded(escape: str, kind: str) -> str:
    try:
        char = chr(int(escape[2:], 16))
    except (ValueError, OverflowError):
        raise QueryRejected(f"invalid escape {escape} in the query") from None
    if kind == "iri" and (char in '<>"{}|^`\\' or ord(char) <= 0x20):
        raise QueryRejected(f"{escape} stands for a character an IRI may not hold")
    # In a string only the characters that would end it or escape the next matter to the grammar.
    return " " if kind == "string" and char in "\"'\\\r\n" else char


def _walk(root: Any) -> Iterator[tuple[Any, int]]:
    """Every node of a parse tree with its nesting depth; iterative, so a deep tree cannot exhaust the stack."""
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parserutils import CompValue

    stack: list[tuple[Any, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, in_path = stack.pop()
        if isinstance(node, CompValue):
            path = node.name == "PathAlternative"
            depth += node.name in _NESTING_NODES or (path and in_path)
            yield node, depth
            stack.extend((value, depth, in_path or path) for value in node.values())
        elif isinstance(node, (list, tuple, ParseResults)):
            stack.extend((value, depth, in_path) for value in node)
        elif isinstance(node, dict):
            stack.extend((value, depth, in_path) for value in node.values())


def _field(node: Any, key: str) -> Any:
    """A field of an rdflib parse node, None when absent (`CompValue.get` answers a missing key with its name)."""
    return dict.get(node, key)


def _term_text(term: Any) -> str:
    """A dataset clause's graph as the lexer would write it: ``<iri>`` or ``prefix:local``."""
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(term, CompValue) and term.name == "pname":
        return f"{_field(term, 'prefix') or ''}:{_field(term, 'localname') or ''}"
    return f"<{term}>"


def _parse(text: str) -> Any:
    from pyparsing import ParseBaseException
    from rdflib.plugins.sparql.parser import Query, UpdateUnit

    if sys.getrecursionlimit() < _PARSE_RECURSION_LIMIT:
        sys.setrecursionlimit(_PARSE_RECURSION_LIMIT)
    try:
        # Not rdflib's parseQuery: it expands \u escapes over the whole text, which Oxigraph does not.
        return Query.parse_string(text, parse_all=True)
    except RecursionError:
        raise QueryRejected("query nests too deeply to be checked") from None
    except ParseBaseException as error:
        syntax_error = error
    except Exception as error:  # noqa: BLE001 - any failure of the parser on hostile input is a refusal
        raise QueryRejected(f"SPARQL syntax error: {type(error).__name__}") from None
    try:
        update = UpdateUnit.parse_string(text, parse_all=True)[0]
    except (RecursionError, Exception):  # noqa: BLE001 - not an update either: report the query's error
        raise QueryRejected(
            f"SPARQL syntax error: {syntax_error.msg} at {_position(text, syntax_error.loc)}"
        ) from None
    requests = _field(update, "request") or []
    name = requests[0].name if requests else ""
    operation = "DELETE/INSERT" if name == "Modify" else re.sub(r"(?<!^)(?=[A-Z])", " ", name).upper()
    raise QueryRejected(f"this endpoint is read-only: {operation} is a SPARQL update")


@lru_cache(maxsize=256)
def grammar_view(text: str) -> QueryShape:
    """The authoritative reading: rdflib's SPARQL 1.1 grammar over the whole query; `QueryRejected` for
    SERVICE anywhere, updates, and text the grammar does not accept (remembered: clients repeat queries)."""
    tree = _parse(grammar_text(text))
    prologue, query = tree[0], tree[1]
    declared: dict[str, str] = {}
    base: str | None = None
    for declaration in prologue:
        if declaration.name == "Base":
            base = _expand(f"<{declaration['iri']}>", {}, base)
        elif declaration.name == "PrefixDecl":
            declared[_field(declaration, "prefix") or ""] = _expand(f"<{declaration['iri']}>", {}, base)
    from_graphs: list[str] = []
    from_named: list[str] = []
    for clause in _field(query, "datasetClause") or []:
        if "named" in clause:
            from_named.append(_expand(_term_text(clause["named"]), {**PREFIXES, **declared}, base))
        else:
            from_graphs.append(_expand(_term_text(clause["default"]), {**PREFIXES, **declared}, base))
    used: set[str] = set()
    deepest = 0
    for node, depth in _walk(query):
        deepest = max(deepest, depth)
        if node.name == "ServiceGraphPattern":
            raise QueryRejected("SERVICE is not allowed: this endpoint never queries other services")
        if node.name == "pname":
            prefix = _field(node, "prefix") or ""
            if prefix not in declared and prefix in PREFIXES:
                used.add(prefix)
    form = _FORM_NODES[query.name]
    return QueryShape(form, tuple(from_graphs), tuple(from_named), tuple(sorted(used)), deepest)


def check_query(
    query: str,
    *,
    known_graphs: AbstractSet[str],
    max_length: int = 20_000,
    max_nesting: int = 32,
    grammar: bool = True,
) -> QueryPlan:
    """Refuse what a public read-only endpoint must not run; raise `QueryRejected` with the reason.

    ``grammar=False`` reads the query with the lexer only: for a caller that runs the query where the full
    check runs again before execution (the server, whose workers call this with ``grammar=True``).
    """
    if not query or not query.strip():
        raise QueryRejected("empty query")
    if len(query) > max_length:
        raise QueryRejected(f"query is {len(query)} characters; the limit is {max_length}")
    if "\x00" in query:
        raise QueryRejected("query contains a NUL character")
    shape = scan_query(query)
    if shape.depth > max_nesting:
        raise QueryRejected(f"query nests deeper than {max_nesting} levels")
    prefixes = shape.prefixes
    if grammar:
        read = grammar_view(query)
        if read.depth > max_nesting:
            raise QueryRejected(f"query nests deeper than {max_nesting} levels")
        if read.form != shape.form:
            raise QueryRejected("the query reads differently to its checks: refused")
        # Giving Oxigraph an unused predeclared prefix costs nothing; missing one would fail the query.
        prefixes = tuple(sorted(set(shape.prefixes) | set(read.prefixes)))
        shape = read
    unknown = [g for g in shape.from_graphs + shape.from_named_graphs if g not in known_graphs]
    if unknown:
        raise QueryRejected(
            f"graph {unknown[0]} is not held by this knowledge base (graphs are never fetched)"
        )
    return QueryPlan(query, shape.form, shape.from_graphs, shape.from_named_graphs, prefixes)
