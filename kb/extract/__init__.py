"""Extraction: general extractors turn any trial publication (news release, abstract) into `Fact`s."""

from __future__ import annotations

from kb.extract.context import Context
from kb.extract.disease import extract_disease
from kb.extract.drugs import extract_drugs
from kb.extract.organizations import extract_organizations
from kb.extract.outcomes import extract_outcomes
from kb.extract.population import extract_population
from kb.extract.publication import extract_publication
from kb.extract.regimen import extract_regimen
from kb.extract.trial import extract_trial
from kb.lexicon import Lexicon, load_lexicon
from kb.models import Document, Extraction

__all__ = ["extract"]

_EXTRACTORS = (
    extract_trial,
    extract_organizations,
    extract_drugs,
    extract_disease,
    extract_population,
    extract_regimen,
    extract_outcomes,
    extract_publication,
)


def extract(document: Document, lexicon: Lexicon | None = None) -> Extraction:
    """Every fact the extractors find in ``document``; no ClinicalTrial when it names no trial."""
    ctx = Context(document, lexicon if lexicon is not None else load_lexicon())
    for extractor in _EXTRACTORS:
        extractor(ctx)
    return Extraction(document=document, facts=tuple(ctx.facts))
