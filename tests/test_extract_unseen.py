"""Extraction on unseen phrasings: hyphenated trial acronyms, per-arm counts, paired arm values, composite
endpoints, funder lists, first authors in a header or an apposition; and two unseen articles end to end."""

from __future__ import annotations

import pytest
import support
from support import objects

from kb.extract import extract
from kb.ingest import parse_document
from kb.models import Entity, Extraction

HEADER = "Study Update\nThe phase 2 KRYPTO-4 trial (NCT01234567) is described here.\n"
UNSEEN = support.UNSEEN


def run(body: str, header: str = HEADER) -> Extraction:
    return extract(parse_document("synthetic.txt", header + body + "\n"))


def outcomes(extraction: Extraction) -> set[tuple[str, str, str]]:
    """(endpoint, value, population) of every outcome."""
    by_outcome: dict[Entity, dict[str, str]] = {}
    for fact in extraction.facts:
        if fact.subject.kind == "OutcomeMeasurement":
            value = fact.object.label if isinstance(fact.object, Entity) else str(fact.object.value)
            by_outcome.setdefault(fact.subject, {})[fact.predicate] = value
    return {(o["measures"], o["numericValue"], o["population"]) for o in by_outcome.values()}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "Title\nIn this phase 3 trial (ALPHA-B; ClinicalTrials.gov number, NCT01234567), we enrolled.\n",
            "ALPHA-B",
        ),
        ("Title\nResults of the pivotal phase 2 ORION-Lung02 study were presented.\n", "ORION-Lung02"),
    ],
)
def test_hyphenated_trial_acronyms(text: str, name: str) -> None:
    assert objects(extract(parse_document("t.txt", text)), "trialName") == {name}


def test_a_hyphenated_word_without_trial_context_is_no_name() -> None:
    text = "Title\nPatients with HER2-Positive disease were treated in a phase 2 study (NCT01234567).\n"
    assert objects(extract(parse_document("t.txt", text)), "trialName") == set()


def test_arm_counts_in_parentheses() -> None:
    extraction = run(
        "The intention-to-treat population included 431 patients (286 in the drug group and 145 in the control group)."
    )
    assert objects(extraction, "enrolledCount", "KRYPTO-4 participants") == {"431"}
    assert objects(extraction, "enrolledCount", "KRYPTO-4 drug group") == {"286"}
    assert objects(extraction, "enrolledCount", "KRYPTO-4 control group") == {"145"}


def test_arm_counts_assigned() -> None:
    extraction = run("A total of 410 patients were assigned to the drug group and 206 to the placebo group.")
    assert objects(extraction, "randomizedCount", "KRYPTO-4 participants") == {"616"}
    assert objects(extraction, "randomizedCount", "KRYPTO-4 placebo group") == {"206"}


def test_arm_counts_that_do_not_add_up_are_not_read() -> None:
    extraction = run(
        "The population included 500 patients (286 in the drug group and 145 in the control group)."
    )
    assert not any(f.predicate.endswith("Count") and "group" in f.subject.label for f in extraction.facts)


def test_paired_values_go_to_the_named_arms() -> None:
    extraction = run(
        "Patients were assigned to the drug group or the control group. Complete remission was higher with drug "
        "than with the control regimen (36.7% vs. 17.9%), as was the composite complete remission rate (66.4% vs. 28.3%)."
    )
    found = outcomes(extraction)
    assert ("complete remission", "36.7", "KRYPTO-4 drug group") in found
    assert ("complete remission", "17.9", "KRYPTO-4 control group") in found
    assert ("composite complete remission", "66.4", "KRYPTO-4 drug group") in found
    assert ("composite complete remission", "28.3", "KRYPTO-4 control group") in found


def test_paired_values_without_named_groups_stay_unassigned() -> None:
    found = outcomes(run("Complete remission was higher with drug than with placebo (36.7% vs. 17.9%)."))
    assert not any(population.endswith("group") for _, _, population in found)


def test_complete_responses_are_not_the_objective_response_rate() -> None:
    found = outcomes(run("An objective response was confirmed in 112 of the 184 patients (60.9%), "
                         "including complete responses in 6.0% of patients."))  # fmt: skip
    assert ("overall response rate", "60.9", "KRYPTO-4 participants") in found
    assert ("complete remission", "6", "KRYPTO-4 participants") in found
    assert not any(e == "overall response rate" and v == "6" for e, v, _ in found)


def test_disease_control_rate_is_an_endpoint() -> None:
    assert ("disease control rate", "97.3", "KRYPTO-4 participants") in outcomes(
        run("The disease control rate was 97.3%.")
    )


@pytest.mark.parametrize(
    ("sentence", "funders"),
    [
        ("The study was funded by Daiichi Sankyo and AstraZeneca.", {"Daiichi Sankyo", "AstraZeneca"}),
        ("(Funded by AbbVie and Genentech.)", {"AbbVie", "Genentech"}),
        ("The study was funded by Contoso Biologics and AstraZeneca.", {"Contoso Biologics", "AstraZeneca"}),
        (
            "The study was funded by the Bill and Melinda Gates Foundation.",
            {"Bill and Melinda Gates Foundation"},
        ),
    ],
)
def test_funder_lists(sentence: str, funders: set[str]) -> None:
    assert objects(run(sentence), "funder") == funders


def test_first_author_from_a_header_block() -> None:
    text = "Title: A Trial\nJournal: The Lancet\nAuthors: Jane M. Roe, John Doe, et al.\n\nThe KRYPTO-4 trial (NCT01234567) enrolled.\n"
    assert objects(extract(parse_document("t.txt", text)), "firstAuthor") == {"Jane M. Roe"}


def test_first_author_after_an_apposition() -> None:
    extraction = run(
        '"Good news," said Jane Roe, MD, a medical oncologist at Example Hospital in Town and the study\'s first author.'
    )
    assert objects(extraction, "firstAuthor") == {"Jane Roe"}


def test_an_apposition_without_the_role_names_no_author() -> None:
    extraction = run('"Good news," said Jane Roe, MD, a medical oncologist at Example Hospital in Town.')
    assert objects(extraction, "firstAuthor") == set()


def read(name: str) -> Extraction:
    path = UNSEEN / name
    return extract(parse_document(path.name, path.read_text()))


def test_viale_a_end_to_end() -> None:
    extraction = read("viale_a.txt")
    assert objects(extraction, "trialName") == {"VIALE-A"}
    assert objects(extraction, "nctId") == {"NCT02993523"}
    assert objects(extraction, "funder") == {"AbbVie", "Genentech"}
    assert objects(extraction, "firstAuthor") == {"Courtney D. DiNardo"}
    assert objects(extraction, "enrolledCount", "VIALE-A participants") == {"431"}
    assert objects(extraction, "enrolledCount", "VIALE-A venetoclax group") == {"286"}
    assert objects(extraction, "enrolledCount", "VIALE-A control group") == {"145"}
    found = outcomes(extraction)
    assert ("complete remission", "36.7", "VIALE-A venetoclax group") in found
    assert ("complete remission", "17.9", "VIALE-A control group") in found
    assert ("composite complete remission", "66.4", "VIALE-A venetoclax group") in found
    assert ("composite complete remission", "28.3", "VIALE-A control group") in found
    assert not any(e == "complete remission" and v in ("66.4", "28.3") for e, v, _ in found)


def test_destiny_end_to_end() -> None:
    extraction = read("destiny.txt")
    assert objects(extraction, "trialName") == {"DESTINY-Breast01"}
    assert objects(extraction, "funder") == {"Daiichi Sankyo", "AstraZeneca"}
    assert objects(extraction, "firstAuthor") == {"Shanu Modi"}
    assert objects(extraction, "enrolledCount") == {"184"}
    found = outcomes(extraction)
    assert ("overall response rate", "60.9", "DESTINY-Breast01 participants") in found
    assert ("complete remission", "6", "DESTINY-Breast01 participants") in found
    assert not any(e == "overall response rate" and v == "6" for e, v, _ in found)
    assert objects(extraction, "numerator") == {"112"} and objects(extraction, "denominator") == {"184"}
    assert ("disease control rate", "97.3", "DESTINY-Breast01 participants") in found
