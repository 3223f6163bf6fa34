"""Curator facts on texts written for these tests: adherence (completed, discontinued) and the effector cells
a drug's mechanism engages, worded differently from the seed article."""

from __future__ import annotations

from kb.extract import extract
from kb.ingest import parse_document
from kb.models import Extraction, Value

NEWS = (
    "Phase 2 trial of glofitamab in older adults with relapsed lymphoma\n\n"
    "The NOVA-12 trial (NCT01234567) enrolled 64 patients aged 70 to 88 years with relapsed diffuse large "
    "B-cell lymphoma. Glofitamab, a bispecific antibody that redirects the patient's own T cells to "
    "CD20-positive tumour cells, was given for up to twelve cycles. Roughly two-thirds of participants "
    "completed all twelve cycles. Eleven patients discontinued treatment because of adverse events, and 41 of "
    "the 64 patients finished the planned therapy.\n"
)

COMPARED = (
    "Randomised trial of drug A versus drug B\n\n"
    "The ABC-3 trial (NCT07654321) randomly assigned 300 patients with newly diagnosed myeloma. In the A arm "
    "70% of patients completed the full course compared with 55% in the B arm.\n"
)


def values(extraction: Extraction, predicate: str) -> set[object]:
    return {
        f.object.value for f in extraction.facts if f.predicate == predicate and isinstance(f.object, Value)
    }


def test_completion_share_count_and_discontinuations_in_other_wording() -> None:
    extraction = extract(parse_document("nova12-news.txt", NEWS))
    assert values(extraction, "completedTreatmentShare") == {"Roughly two-thirds"}
    assert values(extraction, "completedTreatmentCount") == {41}
    assert values(extraction, "discontinuedCount") == {11}
    for fact in extraction.facts:
        if fact.predicate in {"completedTreatmentShare", "completedTreatmentCount", "discontinuedCount"}:
            assert fact.subject.kind == "Cohort"
            assert fact.evidence.quote in NEWS


def test_effector_cells_of_a_drug_in_other_wording() -> None:
    extraction = extract(parse_document("nova12-news.txt", NEWS))
    cells = {(f.subject.label, f.object.value) for f in extraction.facts if f.predicate == "effectorCell"}
    assert cells == {("glofitamab", "T cells")}


def test_a_comparison_between_arms_is_no_cohort_adherence() -> None:
    extraction = extract(parse_document("abc3-news.txt", COMPARED))
    assert not values(extraction, "completedTreatmentShare")


FUNDED = (
    "Trial of drug C in heart failure\n\n"
    "The XYZ-2 trial (NCT01112222) enrolled 120 adults with heart failure. The trial was funded by Borealis "
    "Biotherapeutics Inc. and supported by the Ministry of Health of Ruritania.\n"
)


def test_organisations_the_lexicon_lacks_get_a_kind_from_their_names() -> None:
    extraction = extract(parse_document("xyz2-news.txt", FUNDED))
    kinds = {
        (f.subject.label, f.object.value)
        for f in extraction.facts
        if f.predicate == "organizationType" and isinstance(f.object, Value)
    }
    assert kinds == {
        ("Borealis Biotherapeutics Inc", "company"),
        ("Ministry of Health of Ruritania", "government agency"),
    }


def test_the_network_a_trial_ran_through() -> None:
    text = (
        "Trial of drug D in lymphoma\n\n"
        "The LMN-4 trial (NCT03334444) was led by the Southwest Oncology Group via the National Clinical Trials "
        "Network and enrolled 210 adults.\n"
    )
    extraction = extract(parse_document("lmn4-news.txt", text))
    networks = {
        (f.subject.label, f.object.label) for f in extraction.facts if f.predicate == "throughNetwork"
    }
    assert networks == {("LMN-4", "National Clinical Trials Network")}


def test_performance_status_with_its_scale() -> None:
    text = (
        "Trial of drug E in lung cancer\n\n"
        "The PQR-5 trial (NCT05556666) enrolled 150 adults with an Eastern Cooperative Oncology Group (ECOG) "
        "performance status of 0 or 1.\n"
    )
    extraction = extract(parse_document("pqr5-news.txt", text))
    assert values(extraction, "performanceStatus") == {"ECOG 0-1"}


def test_media_contacts_on_the_same_line_or_the_next() -> None:
    text = (
        "Drug F shrinks tumours in trial\n\n"
        "The STU-6 trial (NCT06667777) enrolled 40 adults.\n\n"
        "Media Contact: Jane Roe, jane.roe@example.org, +1 555 0100\n\n"
        "Press inquiries:\nJohn Q. Public\n"
    )
    extraction = extract(parse_document("stu6-news.txt", text))
    assert values(extraction, "mediaContact") == {"Jane Roe", "John Q. Public"}
