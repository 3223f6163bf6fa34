"""Errors of the ClinicalTrials.gov client, record parser and importer (all ``TrialKBError``)."""

from __future__ import annotations

from kb.errors import TrialKBError


class RegistryError(TrialKBError):
    """Base class of every registry problem."""


class InvalidNctId(RegistryError):
    """A string is not a ClinicalTrials.gov id (``NCT`` and eight digits), or the registry rejected it."""

    status = 400

    def __init__(self, value: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"{value!r} is not a ClinicalTrials.gov id (expected NCT and 8 digits){detail}")
        self.value = value


class RecordNotFound(RegistryError):
    """The registry has no record with this id."""

    status = 404

    def __init__(self, nct_id: str) -> None:
        super().__init__(f"ClinicalTrials.gov has no record {nct_id}")
        self.nct_id = nct_id


class RecordMoved(RegistryError):
    """The record was moved or merged into another id that could not be followed."""

    status = 502

    def __init__(self, nct_id: str, new_id: str | None, location: str) -> None:
        target = new_id or location
        super().__init__(
            f"ClinicalTrials.gov record {nct_id} has moved to {target}; link {target} instead"
            if new_id
            else f"ClinicalTrials.gov record {nct_id} redirects to {location}, which is not a study record"
        )
        self.nct_id = nct_id
        self.new_id = new_id
        self.location = location


class RegistryUnavailable(RegistryError):
    """The registry could not be reached or kept failing (no network, timeouts, 429/5xx after retries)."""

    status = 503

    def __init__(self, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.status = status


class RecordNotCached(RegistryUnavailable):
    """Offline mode, and the record is not in the on-disk cache."""

    def __init__(self, nct_id: str, cache_dir: str) -> None:
        super().__init__(
            f"offline: {nct_id} is not in the registry cache ({cache_dir}); fetch it with "
            f"`trialkb link {nct_id} --online` (or TRIALKB_ONLINE=1), or pass --record FILE with a saved API v2 record"
        )
        self.nct_id = nct_id


class InvalidRecord(RegistryError):
    """A registry record is malformed: not JSON, not an object, or a field of the wrong type."""

    status = 422

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(
            f"invalid registry record: {path}: {message}" if path else f"invalid registry record: {message}"
        )
        self.path = path


class RecordMismatch(RegistryError):
    """The record's own nctId differs from the id it was asked for."""

    status = 422

    def __init__(self, expected: str, found: str) -> None:
        super().__init__(
            f"registry record is for {found}, not {expected} (protocolSection.identificationModule.nctId)"
        )
        self.expected = expected
        self.found = found
