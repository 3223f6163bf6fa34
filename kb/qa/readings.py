"""What a question can ask, described in plain English: one `Reading` per askable thing (a property of a
trial, group, drug or publication; an endpoint's value; a list or count), matched by meaning.

Descriptions say what the thing is, in the words people use for it; they are never copies of particular
questions. The catalogue is data: `register` adds readings (effect estimates, arms, adverse events) without
touching the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass

ANSWER_TYPES = (
    "count",  # how many
    "share",  # what share, percentage, rate
    "number",  # a value with a unit (dose, age, duration)
    "date",  # when
    "person",  # who wrote, who led
    "organisation",  # which company, agency, group
    "kind",  # what kind, class, target, disease, drug
    "yesno",
    "first",  # which came first
    "any",
)


@dataclass(frozen=True)
class Reading:
    """One way to read a question: the intent it maps to, the property (for ``property``), the answer
    types it can give, and plain descriptions of it."""

    name: str
    intent: str  # property | outcome | list_trials | count_trials | list_drugs
    descriptions: tuple[str, ...]
    prop: str | None = None  # a `kb.qa.catalog.PropertySpec` name
    answer_types: tuple[str, ...] = ("any",)
    needs: tuple[str, ...] = ()  # entity kinds the question must name


def _p(name: str, types: tuple[str, ...], *descriptions: str, needs: tuple[str, ...] = ()) -> Reading:
    return Reading(name, "property", descriptions, name, types, needs)


_READINGS: list[Reading] = [
    _p(
        "nct_id",
        ("kind",),
        "the ClinicalTrials.gov registration number of the trial",
        "the NCT identifier of the study",
        "the registry id of the trial",
    ),
    _p("doi", ("kind",), "the DOI of the publication", "the digital object identifier of the paper"),
    _p(
        "first_author",
        ("person",),
        "who wrote the paper",
        "the first author or lead author of the publication",
        "the name of the researcher who led the report",
    ),
    _p(
        "journal",
        ("organisation", "kind"),
        "the journal the results were published in",
        "where the study was published",
    ),
    _p("start_date", ("date",), "when the trial started", "the start date of the study"),
    _p("completion_date", ("date",), "when the trial was completed or will end", "the completion date"),
    _p(
        "date_published",
        ("date",),
        "when the article was published",
        "the publication date of the report",
    ),
    _p(
        "sponsor",
        ("organisation",),
        "the sponsor of the trial",
        "which company or organisation sponsored the study",
    ),
    _p(
        "funders",
        ("organisation",),
        "who funded or paid for the research",
        "the organisations and companies that gave money or grants for the study",
        "which agency or firm supported the work financially",
    ),
    _p(
        "conducted_by",
        ("organisation",),
        "which research group or organisation ran the trial",
        "the cooperative group that conducted and led the study",
    ),
    _p(
        "network",
        ("organisation",),
        "the network through which the trial was run or supported",
        "which clinical trials network the study went through",
    ),
    _p("trial_name", ("kind",), "the name of the trial", "what the study is called"),
    _p(
        "primary_endpoint",
        ("kind",),
        "the primary endpoint of the trial",
        "the main outcome the study was designed to measure",
    ),
    _p("phase", ("kind", "number"), "the phase of the clinical trial", "is it a phase 1, 2 or 3 study"),
    _p(
        "arms",
        ("list", "kind"),
        "the arms or treatment groups of the randomised trial",
        "which groups were patients assigned to",
    ),
    _p(
        "treatment_duration",
        ("number",),
        "how long the patients were treated in the trial",
        "the duration of the randomised treatment, in weeks or months",
    ),
    _p(
        "allocation_ratio",
        ("number", "kind"),
        "the ratio in which patients were randomly assigned to the arms",
        "the allocation ratio of the randomisation, such as 1:1 or 2:1",
    ),
    _p(
        "median_age",
        ("number",),
        "the median age of the patients",
        "how old the typical participant was, in years",
    ),
    _p(
        "age_range",
        ("number",),
        "the age range of the patients",
        "how old the participants were, the youngest and the oldest",
        "the minimum and maximum age of people in the study",
    ),
    _p(
        "cycles",
        ("count",),
        "how many cycles or rounds of a drug were given",
        "the number of treatment courses of each drug",
    ),
    _p(
        "randomized_count",
        ("count",),
        "how many patients were randomly assigned",
        "the number of randomised participants",
    ),
    _p(
        "treated_count",
        ("count",),
        "how many patients were treated or infused",
        "the number of patients who received the therapy",
    ),
    _p(
        "enrolled_count",
        ("count",),
        "how many patients were enrolled in the trial",
        "the number of people who took part in the study",
        "the sample size of the cohort",
    ),
    _p(
        "prior_condition",
        ("kind",),
        "which earlier illnesses or prior cancers the patients had had",
        "previous malignancies in the participants' medical history",
        "other diseases the patients had before, comorbidities",
    ),
    _p(
        "image_credit",
        ("organisation", "person"),
        "who is credited for the image or photo of the news item",
        "who took the picture",
    ),
    _p(
        "media_contact",
        ("person",),
        "the media contact person for press enquiries",
        "whom journalists should contact about the news",
    ),
    _p(
        "performance_status",
        ("kind", "number"),
        "the performance status of the patients, such as ECOG 0 to 2",
        "how fit the participants were, their functional status score",
    ),
    _p(
        "completed_treatment",
        ("share", "count", "number"),
        "how many or what share of the patients completed the whole treatment course",
        "the proportion of participants who finished all planned cycles",
    ),
    _p(
        "discontinued_count",
        ("count", "number"),
        "how many patients discontinued or stopped the treatment early",
        "the number of permanent treatment discontinuations",
    ),
    _p("dose", ("number",), "the dose of the drug", "how much of the drug was given, in mg"),
    _p(
        "route",
        ("kind",),
        "how the drug was administered, orally or intravenously",
        "the route of administration of the drug",
    ),
    _p(
        "marker_status",
        ("kind",),
        "the biomarker status of the patients' disease, positive or negative",
        "whether the leukemia cells expressed a marker or chromosome",
    ),
    _p(
        "diagnosis_status",
        ("kind",),
        "whether the patients were newly diagnosed or relapsed",
        "the disease setting: first-line, previously untreated, relapsed or refractory",
    ),
    _p(
        "payload",
        ("kind",),
        "the payload or toxin carried by an antibody-drug conjugate",
        "what the antibody is conjugated or linked to",
        needs=("Drug",),
    ),
    _p(
        "mechanism",
        ("kind",),
        "how the drug works, its mechanism of action",
        "what the drug does to the cancer cells",
        needs=("Drug",),
    ),
    _p(
        "effector_cells",
        ("kind",),
        "which immune cells the drug recruits or engages",
        "the effector cells, such as T cells, the drug brings to the cancer cells",
        needs=("Drug",),
    ),
    _p(
        "target",
        ("kind",),
        "the molecular target of the drug",
        "which protein or antigen on cells the drug binds to",
        needs=("Drug",),
    ),
    _p(
        "drug_class",
        ("kind",),
        "what kind of drug or molecule it is",
        "the class of the drug",
        needs=("Drug",),
    ),
    _p(
        "disease",
        ("kind",),
        "the disease or cancer studied in the trial",
        "what illness the patients had",
    ),
    _p(
        "interventions",
        ("kind",),
        "which drugs or treatments were given in the trial",
        "the drugs of the regimen",
    ),
    _p(
        "design",
        ("kind", "yesno"),
        "the design of the trial: randomised, blinded, open-label, single-arm or multicentre",
    ),
    _p("enrollment_years", ("date",), "when patients were enrolled", "the years of enrolment"),
    _p(
        "registry_status",
        ("kind", "yesno"),
        "the current recruitment status of the trial",
        "whether the trial is still recruiting or was stopped",
    ),
    Reading(
        "outcome",
        "outcome",
        (
            "the rate of an outcome such as complete remission, response or survival",
            "the percentage of patients who achieved remission or responded",
            "the survival rate at a time point",
            "the median overall or progression-free survival in months",
            "the hazard ratio for death between the groups",
        ),
        answer_types=("share", "number", "count"),
    ),
    Reading(
        "list_trials",
        "list_trials",
        ("which trials tested a drug or target", "list the studies in the knowledge base"),
        answer_types=("kind",),
    ),
    Reading("count_trials", "count_trials", ("how many trials there are",), answer_types=("count",)),
    Reading(
        "list_drugs",
        "list_drugs",
        ("which drugs target a protein or belong to a class",),
        answer_types=("kind",),
    ),
]


def readings() -> tuple[Reading, ...]:
    """Every reading, in the order registered."""
    return tuple(_READINGS)


def register(reading: Reading) -> None:
    """Add a reading (e.g. from an evidence module); one of the same name is replaced."""
    for position, existing in enumerate(_READINGS):
        if existing.name == reading.name:
            _READINGS[position] = reading
            return
    _READINGS.append(reading)
