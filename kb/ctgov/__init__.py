"""ClinicalTrials.gov linking: API v2 client, record parser, RDF mapping and reconciliation with articles."""

from __future__ import annotations

from kb.ctgov.client import CtgovClient, FetchedRecord
from kb.ctgov.errors import (
    InvalidNctId,
    InvalidRecord,
    RecordMismatch,
    RecordMoved,
    RecordNotCached,
    RecordNotFound,
    RegistryError,
    RegistryUnavailable,
)
from kb.ctgov.links import (
    normalize_nct_id,
    record_url,
    registry_graph,
    trial_link_triples,
    trial_node,
)
from kb.ctgov.mapping import record_to_graph
from kb.ctgov.reconcile import reconcile
from kb.ctgov.reconciliation import Reconciliation, ReconciliationItem, SourcedValue
from kb.ctgov.record import RegistryRecord, parse_record

__all__ = [
    "CtgovClient",
    "FetchedRecord",
    "InvalidNctId",
    "InvalidRecord",
    "RecordMismatch",
    "RecordMoved",
    "RecordNotCached",
    "RecordNotFound",
    "Reconciliation",
    "ReconciliationItem",
    "RegistryError",
    "RegistryRecord",
    "RegistryUnavailable",
    "normalize_nct_id",
    "parse_record",
    "reconcile",
    "record_to_graph",
    "record_url",
    "registry_graph",
    "SourcedValue",
    "trial_link_triples",
    "trial_node",
]
