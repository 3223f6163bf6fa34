"""Golden tests: every shipped competency query answers its question on the bundled KB."""

from __future__ import annotations

import csv
import io

import pytest
from support import BUNDLED_HOME

from kb import queries
from kb.facade import KnowledgeBase


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase(BUNDLED_HOME)


def rows(kb: KnowledgeBase, name: str) -> list[dict[str, str]]:
    body = kb.query(queries.load(name), "csv").body.decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


def has_row(table: list[dict[str, str]], **expected: str) -> bool:
    return any(all(row.get(k) == v for k, v in expected.items()) for row in table)


# One golden expectation per query: the facts a curator reads in the seed article.
GOLDEN: dict[str, list[dict[str, str]]] = {
    "drugs": [
        {"drugLabel": "inotuzumab ozogamicin", "classLabel": "antibody-drug conjugate", "targetLabel": "CD22"},
        {"drugLabel": "blinatumomab", "classLabel": "bispecific T-cell engager", "targetLabel": "CD19"},
    ],
    "outcomes": [
        {"endpointLabel": "complete remission", "value": "97", "unit": "%"},
        {"endpointLabel": "overall survival", "value": "85", "unit": "%", "timePoint": "P1Y"},
        {"endpointLabel": "relapse-free survival", "value": "75", "unit": "%", "timePoint": "P1Y"},
    ],
    "complete_remission": [{"trialLabel": "A041703", "value": "97", "unit": "%"}],
    "adherence": [{"trialLabel": "A041703", "completedShare": "over half"}],
    "news_item": [{"creditLabel": "Wake Forest University School of Medicine", "creditKind": "university"}],
    "population": [
        {"trialLabel": "A041703", "status": "newly diagnosed", "priorCondition": "multiple myeloma"},
        {"trialLabel": "A041703", "priorCondition": "breast cancer"},
    ],
    "effector_cells": [{"drugLabel": "blinatumomab", "effectorCell": "cytotoxic T lymphocytes"}],
    "organizations": [
        {"organizationLabel": "National Cancer Institute", "kind": "government agency", "role": "support"},
        {"organizationLabel": "National Clinical Trials Network", "kind": "research network", "role": "funding channel"},
        {"organizationLabel": "Pfizer", "kind": "company", "role": "grant"},
        {"organizationLabel": "Alliance for Clinical Trials in Oncology", "kind": "cooperative group", "role": "conducted"},
    ],
    "funders": [
        {"funderLabel": "National Cancer Institute", "viaLabel": "National Clinical Trials Network"},
        {"funderLabel": "Pfizer", "role": "grant"},
        {"funderLabel": "Amgen", "role": "grant"},
    ],
    "cohort": [
        {"enrolled": "33", "minAge": "60", "maxAge": "84", "status": "newly diagnosed", "positiveFor": "CD22",
         "negativeFor": "Philadelphia chromosome", "priorCondition": "multiple myeloma"},
        {"priorCondition": "breast cancer"},
    ],
    "regimen": [
        {"order": "1", "drugLabel": "inotuzumab ozogamicin", "maxCycles": "2", "chemotherapyFree": "true"},
        {"order": "2", "drugLabel": "blinatumomab", "minCycles": "4", "maxCycles": "5"},
    ],
    "publication": [
        {"journalLabel": "Journal of Clinical Oncology", "date": "2025-09-30", "doi": "10.1200/JCO-25-00307",
         "firstAuthor": "Wieduwilt MJ", "imageCredit": "Wake Forest University School of Medicine"},
    ],
    "trials": [
        {"trialLabel": "A041703", "nctId": "NCT03739814", "groupLabel": "Alliance for Clinical Trials in Oncology",
         "registryPage": "https://clinicaltrials.gov/study/NCT03739814"},
    ],
    "trials_by_target": [
        {"trialLabel": "A041703", "drugLabel": "blinatumomab", "targetLabel": "CD19"},
        {"trialLabel": "A041703", "drugLabel": "inotuzumab ozogamicin", "targetLabel": "CD22"},
    ],
}  # fmt: skip


# The randomised-trial queries (issue 14), on a KB of two randomised-trial documents (the seed has no arms).
EVIDENCE_GOLDEN: dict[str, list[dict[str, str]]] = {
    "effect_estimates": [
        {"trialLabel": "PARADIGM-HF", "measure": "https://w3id.org/trialkb/ontology#HazardRatio", "estimate": "0.8",
         "ciLower": "0.73", "ciUpper": "0.87", "pValueText": "P<0.001", "endpoint": "primary outcome",
         "experimentalLabel": "PARADIGM-HF lcz696 group", "comparatorLabel": "PARADIGM-HF enalapril group"},
        {"trialLabel": "ACTT-1", "measure": "https://w3id.org/trialkb/ontology#RateRatio", "estimate": "1.29",
         "ciLower": "1.12", "ciUpper": "1.49", "endpoint": "recovery"},
    ],
    "adverse_events": [
        {"trialLabel": "ACTT-1", "term": "serious adverse events", "armLabel": "ACTT-1 placebo group",
         "percentage": "31.6", "count": "163", "denominator": "516", "serious": "true"},
        {"trialLabel": "ACTT-1", "term": "adverse events", "armLabel": "ACTT-1 remdesivir group", "percentage": "51.3",
         "minGrade": "3", "maxGrade": "4"},
        {"trialLabel": "PARADIGM-HF", "term": "symptomatic hypotension", "armLabel": "PARADIGM-HF enalapril group",
         "percentage": "9.2", "pValueText": "P<0.001"},
    ],
    "arms": [
        {"trialLabel": "PARADIGM-HF", "allocationRatio": "1:1", "armLabel": "PARADIGM-HF lcz696 group",
         "role": "https://w3id.org/trialkb/ontology#ExperimentalArm", "analyzed": "4187", "drugLabel": "sacubitril-valsartan",
         "amount": "200", "unit": "mg", "frequency": "twice daily"},
        {"trialLabel": "ACTT-1", "armLabel": "ACTT-1 placebo group",
         "role": "https://w3id.org/trialkb/ontology#PlaceboComparatorArm", "randomized": "521"},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def evidence_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    from support import DATA, ingested_kb

    corpus = DATA / "corpus"
    home = tmp_path_factory.mktemp("evidence-queries")
    return ingested_kb(home, [corpus / "paradigmhf-abstract.txt", corpus / "actt1-news.txt"])


def test_every_shipped_query_has_a_golden_test() -> None:
    assert set(queries.names()) == set(GOLDEN) | set(EVIDENCE_GOLDEN)


@pytest.mark.parametrize("name", sorted(EVIDENCE_GOLDEN))
def test_evidence_competency_query(evidence_kb: KnowledgeBase, name: str) -> None:
    table = rows(evidence_kb, name)
    for expected in EVIDENCE_GOLDEN[name]:
        assert has_row(table, **expected), f"{name}: no row with {expected}; got {table}"
    assert queries.description(name)
    if name != "arms":  # the bundled registry record has arm groups; the seed reports no comparison
        assert not rows(KnowledgeBase(BUNDLED_HOME), name)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_competency_query(kb: KnowledgeBase, name: str) -> None:
    table = rows(kb, name)
    for expected in GOLDEN[name]:
        assert has_row(table, **expected), f"{name}: no row with {expected}; got {table}"
    assert queries.description(name)


def test_outcome_rows_carry_their_source_sentence(kb: KnowledgeBase) -> None:
    for row in rows(kb, "outcomes"):
        if row["value"] and row["endpointLabel"] != "follow-up":
            assert row["value"] in row["sentence"] or row["endpointLabel"] == "treatment completion"
