"""Drugs the lexicon lacks, recognised by their INN stems (and a brand beside the INN), and trial names with a
digit inside ("ASC4FIRST"); then an unseen press release end to end."""

from __future__ import annotations

import pytest
import support
from support import objects

from kb.extract import extract
from kb.extract.drugs import unknown_drugs
from kb.ingest import parse_document, read_document
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
        ("with olpasiran or nusinersen", {"olpasiran": "olpasiran", "nusinersen": "nusinersen"}),
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
    # The comparator after the apposition ("with investigator-selected TKIs") is not asciminib's class; its INN
    # stem (-tinib: a tyrosine kinase inhibitor) is.
    assert objects(article, "drugClass", "asciminib") == {"tyrosine kinase inhibitor"}


def test_article_phase_in_roman_numerals_is_answered(tmp_path) -> None:  # type: ignore[no-untyped-def]

    kb = support.ingested_kb(tmp_path / "kb", [ARTICLE])
    answer = kb.ask("What phase is the trial?")
    assert answer.answer == "Phase 3" and answer.evidence, answer


@pytest.mark.parametrize(
    ("name", "drug_class", "target"),
    [
        ("ertugliflozin", "sglt2-inhibitor", "sglt2"),
        ("omarigliptin", "dpp-4-inhibitor", "dpp4"),
        ("efpeglenatide", None, None),  # no stem in the table: no class guessed
        ("fosinopril", "ace-inhibitor", "ace"),
        ("olmesartan", "angiotensin-receptor-blocker", "agtr1"),
        ("pitavastatin", "statin", "hmgcr"),
        ("betrixaban", "factor-xa-inhibitor", "factor-xa"),
        ("cabotegravir", "integrase-inhibitor", "hiv-integrase"),
        ("trilaciclib", "cdk4-6-inhibitor", "cdk4-6"),
        ("pamiparib", "parp-inhibitor", "parp"),
        ("adagrasib", "kras-inhibitor", "kras"),
        ("tafasitamab", "monoclonal-antibody", None),
        ("encorafenib", "braf-inhibitor", "braf"),
    ],
)
def test_a_drug_the_lexicon_lacks_gets_the_class_its_stem_says(
    name: str, drug_class: str | None, target: str | None
) -> None:
    from kb.extract.drugs import stem_class

    lexicon = load_lexicon()
    found = stem_class(name)
    assert (found[0] if found else None) == drug_class
    assert (found[1] if found else None) == target
    for kind, key in (("DrugClass", drug_class), ("MolecularTarget", target)):
        assert (
            key is None or lexicon.get(kind, key) is not None
        )  # every key the table names is in the lexicon


def test_stem_class_is_a_traced_fact_in_the_document_graph() -> None:
    text = (
        "Ertugliflozin in Type 2 Diabetes\n\nIn the VERTIS CV trial (NCT01986881), 8246 patients were randomly "
        "assigned to ertugliflozin or placebo.\n"
    )
    extraction = extract(parse_document("vertis.txt", text), load_lexicon())
    classes = [f for f in extraction.facts if f.predicate == "drugClass" and f.subject.key == "ertugliflozin"]
    assert [f.object.key for f in classes] == ["sglt2-inhibitor"]  # type: ignore[union-attr]
    assert classes[0].evidence is not None and classes[0].evidence.quote.lower() == "ertugliflozin"
