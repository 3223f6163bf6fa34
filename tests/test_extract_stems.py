"""Drugs the lexicon lacks, recognised by their INN stems (and a brand beside the INN), and trial names with a
digit inside ("ASC4FIRST"); then an unseen press release end to end."""

from __future__ import annotations

import pytest
import support
from support import objects

from kb.extract import extract
from kb.extract.drugs import unknown_drugs
from kb.ingest import read_document
from kb.lexicon import load_lexicon
from kb.models import Entity, Extraction

ARTICLE = support.UNSEEN / "asc4first.txt"


def found(text: str) -> dict[str, str]:
    """Name -> key of each unknown drug ``text`` mentions."""
    return {name: entry.key for name, entry in unknown_drugs(load_lexicon(), text).items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The trial compared Scemblix (asciminib) with imatinib.",
            {"asciminib": "asciminib", "scemblix": "asciminib"},
        ),
        (
            "Patients received asciminib (Scemblix) daily.",
            {"asciminib": "asciminib", "scemblix": "asciminib"},
        ),
        ("Asciminib also showed a higher rate.", {"asciminib": "asciminib"}),
        ("tarlatamab was given every two weeks", {"tarlatamab": "tarlatamab"}),
        ("divarasib, a KRAS G12C inhibitor", {"divarasib": "divarasib"}),
        ("with inclisiran or nusinersen", {"inclisiran": "inclisiran", "nusinersen": "nusinersen"}),
        ("aflibercept and aldesleukin", {"aflibercept": "aflibercept", "aldesleukin": "aldesleukin"}),
        ("pegaspargase and vorinostat", {"pegaspargase": "pegaspargase", "vorinostat": "vorinostat"}),
    ],
)
def test_unknown_drugs_by_stem(text: str, expected: dict[str, str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Novartis Communications said the World Health Organization agreed.",
        "Patients received vitamin D or placebo in combination with domination.",
        "Symptoms did not worsen; intercept, concept and except are words, as are thermostat and hemostat.",
        "Symptoms may coarsen or hoarsen the voice.",
        "The code name VORATINIB is written in capitals.",
        # Known to the lexicon: its own entity, not a minted one.
        "imatinib, dasatinib and blinatumomab",
        # The second word of a conjugate or a cell therapy alone is no drug.
        "trastuzumab deruxtecan and brexucabtagene autoleucel",
    ],
)
def test_no_unknown_drug(text: str) -> None:
    assert found(text) == {}


def test_a_brand_that_is_a_known_term_is_no_alias() -> None:
    assert found("asciminib (Novartis) was given") == {"asciminib": "asciminib"}


@pytest.fixture(scope="module")
def article() -> Extraction:
    return extract(read_document(ARTICLE))


def test_article_names_the_trial_and_its_phase(article: Extraction) -> None:
    assert objects(article, "trialName") == {"ASC4FIRST"}
    assert objects(article, "nctId") == {"NCT04971226"}
    assert objects(article, "phase") == {"Phase 3"}


def test_article_unknown_drug_is_an_intervention(article: Extraction) -> None:
    interventions = {f.object for f in article.facts if f.predicate == "intervention"}
    asciminib = Entity("Drug", "asciminib", "asciminib")
    assert asciminib in interventions
    assert {d.label for d in interventions} == {
        "asciminib",
        "imatinib",
        "nilotinib",
        "dasatinib",
        "bosutinib",
    }


def test_article_unknown_drug_is_described(article: Extraction) -> None:
    assert "BCR::ABL1" in objects(article, "target", "asciminib")
    assert objects(article, "mechanism", "asciminib") == {"binds the ABL myristoyl pocket of BCR::ABL1"}
    # The comparator after the apposition ("with investigator-selected TKIs") is not asciminib's class.
    assert objects(article, "drugClass", "asciminib") == set()


def test_article_phase_in_roman_numerals_is_answered(tmp_path) -> None:  # type: ignore[no-untyped-def]

    kb = support.ingested_kb(tmp_path / "kb", [ARTICLE])
    answer = kb.ask("What phase is the trial?")
    assert answer.answer == "Phase 3" and answer.evidence, answer
