"""Extraction: general extractors turn any trial publication (news release, abstract) into `Fact`s."""

from __future__ import annotations

from kb.extract.adherence import extract_adherence
from kb.extract.arm_values import extract_arm_values
from kb.extract.arms import extract_arms
from kb.extract.contacts import extract_contacts
from kb.extract.context import Context
from kb.extract.disease import extract_disease
from kb.extract.doses import extract_doses
from kb.extract.drugs import extract_drugs
from kb.extract.effects import extract_effects
from kb.extract.organizations import extract_organizations
from kb.extract.outcomes import extract_outcomes
from kb.extract.performance import extract_performance_status
from kb.extract.population import extract_population
from kb.extract.publication import extract_publication
from kb.extract.regimen import extract_regimen
from kb.extract.trial import extract_trial
from kb.extract.trials import split_trials
from kb.lexicon import Lexicon, load_lexicon
from kb.models import Document, Entity, Extraction, Fact

__all__ = ["extract"]

_EXTRACTORS = (
    extract_trial,
    extract_organizations,
    extract_drugs,
    extract_disease,
    extract_population,
    extract_adherence,
    extract_performance_status,
    extract_regimen,
    extract_arms,
    extract_effects,
    extract_arm_values,
    extract_doses,
    extract_outcomes,
    extract_publication,
    extract_contacts,
)


def extract(document: Document, lexicon: Lexicon | None = None) -> Extraction:
    """Every fact the extractors find in ``document``; no ClinicalTrial when it names no trial."""
    ctx = Context(document, lexicon if lexicon is not None else load_lexicon())
    first, *rest = _EXTRACTORS
    first(ctx)
    # A document reporting several trials: each is read over its own passages (see `kb.extract.trials`).
    contexts = split_trials(ctx) or [ctx]
    facts: dict[tuple[object, ...], Fact] = {}
    for context in contexts:
        for extractor in rest:
            extractor(context)
        for fact in context.facts:
            facts.setdefault((fact.subject, fact.predicate, fact.object), fact)
    return Extraction(
        document=document, facts=tuple(facts.values()), passage_trials=_passage_trials(contexts)
    )


def _passage_trials(contexts: list[Context]) -> tuple[tuple[str, Entity], ...]:
    """Each passage in the scope of exactly one trial's context, with that trial (several trials only)."""
    if len(contexts) < 2:
        return ()
    seen: dict[str, int] = {}
    for context in contexts:
        for passage_id in context.scope or ():
            seen[passage_id] = seen.get(passage_id, 0) + 1
    return tuple(
        (passage.id, context.trial)
        for context in contexts
        if context.trial is not None
        for passage in context.document.passages
        if passage.id in (context.scope or ()) and seen[passage.id] == 1
    )
