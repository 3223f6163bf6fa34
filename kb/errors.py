"""Domain exceptions of the knowledge base; the CLI and the HTTP app translate them at their edge."""

from __future__ import annotations


class TrialKBError(Exception):
    """Base class: a problem the user can act on, with a message that says what to do."""

    status = 400  # the HTTP status an edge should answer with


class IngestError(TrialKBError):
    """A source file cannot be ingested (empty, binary, too large, undecodable, unreadable)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class QueryRejected(TrialKBError):
    """A SPARQL request the read-only endpoint will not run (syntax error, update, SERVICE, unknown graph...)."""


class QueryTimeout(TrialKBError):
    """A query ran past its deadline and was stopped."""

    status = 503


class KBNotFound(TrialKBError):
    """The knowledge base directory holds no knowledge base."""

    status = 404


class KBCorrupt(TrialKBError):
    """A knowledge base file does not match its recorded checksum: reported, not served."""

    status = 500


class KBBusy(TrialKBError):
    """Another process holds the knowledge base's write lock past the wait limit."""

    status = 409


class NotFound(TrialKBError):
    """A requested resource (entity, document, registry record) is not in the knowledge base."""

    status = 404
