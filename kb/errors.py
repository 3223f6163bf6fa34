"""Domain exceptions of the knowledge base; the CLI and the HTTP app translate them at their edge."""

from __future__ import annotations

import errno


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


class KBWriteError(TrialKBError):
    """The knowledge base could not be written (disk full, file too large, no permission): the commit did
    not happen and the KB is at its previous version."""

    status = 507

    @classmethod
    def from_os_error(cls, error: OSError, home: object, committed: bool = False) -> KBWriteError:
        """A one-line message for a failed write: what failed, why, and what state the KB is in."""
        where = f" {error.filename}" if error.filename else ""
        reason = error.strerror or str(error)
        if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            reason += " (disk full or file too large)"
        state = (
            "the KB was committed but this follow-up write did not complete"
            if committed
            else "nothing was committed; the KB is at its previous version"
        )
        return cls(f"cannot write{where}: {reason}; {state} (free space or fix {home} and retry)")


class KBBusy(TrialKBError):
    """Another process holds the knowledge base's write lock past the wait limit."""

    status = 409


class NotFound(TrialKBError):
    """A requested resource (entity, document, registry record) is not in the knowledge base."""

    status = 404
