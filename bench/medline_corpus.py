"""Generated MEDLINE XML trial abstracts for the scale benchmark: varied trial names, NCT ids, drugs, numbers, designs.

    .venv/bin/python bench/medline_corpus.py OUT_DIR --count 10000 --per-file 1000

Each article is a `PubmedArticle` with a structured abstract (BACKGROUND, METHODS, RESULTS, CONCLUSIONS), a
unique PMID, DOI, trial name and NCT id (in the abstract and in `DataBankList`), a drug drawn from the project
lexicon with its class, a disease, a sponsor and a journal, and numbers drawn per article. About half the
trials are randomised phase 3 comparisons reported with a hazard ratio and its 95% CI, the others single-arm
phase 2 studies reported with response rates. The text is generated for timing at scale, not for quality
scores: quality is judged on real abstracts elsewhere.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
LEXICON = ROOT / "kb" / "data" / "lexicon.json"

# Trial-name stems; a stem plus a number gives every article its own name ("ARIA-114", "BOREAL-3021").
STEMS = ["ARIA", "BOREAL", "CASCADE", "DELTA", "ECLIPSE", "FALCON", "GALAXY", "HORIZON", "IMPACT", "JUPITER",
         "KESTREL", "LUMINA", "MERIDIAN", "NAUTILUS", "ORBIT", "PINNACLE", "QUASAR", "RADIANT", "SUMMIT", "TITAN",
         "UNITY", "VERTEX", "WAVELET", "XENITH", "ZENITH", "AURORA", "BEACON", "COMPASS", "DYNAMO", "EMBER"]  # fmt: skip
EXTRA_DISEASES = ["non-small-cell lung cancer", "metastatic colorectal cancer", "advanced melanoma",
                  "hepatocellular carcinoma", "metastatic castration-resistant prostate cancer", "ovarian cancer",
                  "renal cell carcinoma", "urothelial carcinoma", "gastric cancer", "small-cell lung cancer"]  # fmt: skip
COMPARATORS = ["placebo", "standard chemotherapy", "investigator's choice of chemotherapy", "observation"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class Vocabulary:
    """What the generator draws from: drugs with their class label, diseases, sponsors, journals."""

    drugs: list[tuple[str, str]]
    diseases: list[str]
    sponsors: list[str]
    journals: list[tuple[str, str, str]]  # title, ISO abbreviation, ISSN


def load_vocabulary(path: Path = LEXICON) -> Vocabulary:
    """Drugs with a class, diseases, companies and journals from the project lexicon."""
    entries = json.loads(path.read_text(encoding="utf-8"))["entries"]
    class_labels = {entry["key"]: entry["label"] for entry in entries if entry["kind"] == "DrugClass"}
    drugs = [
        (entry["label"], class_labels[entry["drug_class"][0]])
        for entry in entries
        if entry["kind"] == "Drug" and entry.get("drug_class") and entry["drug_class"][0] in class_labels
    ]
    diseases = [entry["label"] for entry in entries if entry["kind"] == "Disease"] + EXTRA_DISEASES
    sponsors = [
        entry["label"]
        for entry in entries
        if entry["kind"] == "Organization" and entry.get("organization_type") not in ("government agency",)
    ]
    journals = []
    for entry in entries:
        if entry["kind"] != "Journal":
            continue
        abbreviations = entry.get("abbreviations") or [entry["label"]]
        issns = entry.get("issn") or [""]
        journals.append((entry["label"], abbreviations[0], issns[0]))
    return Vocabulary(drugs=drugs, diseases=diseases, sponsors=sponsors, journals=journals)


def trial_name(index: int) -> str:
    """A unique trial name per index: a stem and a number."""
    return f"{STEMS[index % len(STEMS)]}-{100 + index // len(STEMS)}"


def nct_id(index: int) -> str:
    """A unique NCT id per index (outside the range real registrations use today)."""
    return f"NCT{80_000_000 + index:08d}"


def pmid(index: int) -> int:
    """A unique PMID per index (above the range real PMIDs use today)."""
    return 70_000_000 + index


def _randomised(
    rng: random.Random, name: str, nct: str, drug: str, drug_class: str, disease: str, comparator: str
) -> list[tuple[str, str]]:
    enrolled = rng.randint(200, 1400)
    arm = enrolled // 2 + rng.randint(-20, 20)
    median_drug = round(rng.uniform(6.0, 30.0), 1)
    median_control = round(median_drug * rng.uniform(0.5, 0.9), 1)
    hazard = round(rng.uniform(0.45, 0.92), 2)
    low = round(hazard * rng.uniform(0.7, 0.9), 2)
    high = round(min(hazard * rng.uniform(1.1, 1.35), 1.2), 2)
    endpoint = rng.choice(["overall survival", "progression-free survival", "event-free survival"])
    follow_up = round(rng.uniform(8.0, 48.0), 1)
    return [
        (
            "BACKGROUND",
            f"{drug.capitalize()} is {_article(drug_class)} {drug_class}. Its benefit in {disease} "
            f"when compared with {comparator} is not known.",
        ),
        (
            "METHODS",
            f"In the randomized, open-label, phase 3 {name} trial ({nct}), we randomly assigned {enrolled} "
            f"patients with {disease} in a 1:1 ratio to receive {drug} or {comparator}. The primary end "
            f"point was {endpoint}.",
        ),
        (
            "RESULTS",
            f"A total of {arm} patients were assigned to the {drug} group and {enrolled - arm} to the "
            f"{comparator} group. At a median follow-up of {follow_up} months, median {endpoint} was "
            f"{median_drug} months with {drug} and {median_control} months with {comparator} (hazard ratio, "
            f"{hazard:.2f}; 95% confidence interval [CI], {low:.2f} to {high:.2f}).",
        ),
        ("CONCLUSIONS", f"In patients with {disease}, {drug} led to longer {endpoint} than {comparator}."),
    ]


def _single_arm(
    rng: random.Random, name: str, nct: str, drug: str, drug_class: str, disease: str, comparator: str
) -> list[tuple[str, str]]:
    enrolled = rng.randint(20, 180)
    response = rng.randint(15, 85)
    complete = rng.randint(3, max(4, response // 2))
    duration = round(rng.uniform(4.0, 24.0), 1)
    age = rng.randint(45, 72)
    return [
        (
            "BACKGROUND",
            f"{drug.capitalize()} is {_article(drug_class)} {drug_class} with activity in {disease}.",
        ),
        (
            "METHODS",
            f"{name} ({nct}) was a single-arm, multicenter, phase 2 study of {drug} in {enrolled} "
            f"patients with relapsed or refractory {disease}; the median age was {age} years. The primary "
            f"end point was the objective response rate.",
        ),
        (
            "RESULTS",
            f"The objective response rate was {response}% and the complete response rate was "
            f"{complete}%. The median duration of response was {duration} months.",
        ),
        ("CONCLUSIONS", f"{drug.capitalize()} showed durable responses in relapsed or refractory {disease}."),
    ]


def _article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def article_xml(index: int, vocabulary: Vocabulary, seed: int = 11) -> str:
    """One `PubmedArticle` for trial number ``index``."""
    rng = random.Random(seed * 1_000_003 + index)
    drug, drug_class = rng.choice(vocabulary.drugs)
    disease = rng.choice(vocabulary.diseases)
    sponsor = rng.choice(vocabulary.sponsors)
    journal, abbreviation, issn = rng.choice(vocabulary.journals)
    name, nct = trial_name(index), nct_id(index)
    randomised = rng.random() < 0.5
    comparator = rng.choice(COMPARATORS)
    maker = _randomised if randomised else _single_arm
    sections = maker(rng, name, nct, drug, drug_class, disease, comparator)
    sections[-1] = (sections[-1][0], sections[-1][1] + f" (Funded by {sponsor}; {name} number, {nct}.)")
    title = (
        f"{drug.capitalize()} versus {comparator} in {disease}: the {name} randomized trial"
        if randomised
        else f"{drug.capitalize()} in relapsed or refractory {disease}: the {name} study"
    )
    year = rng.randint(2012, 2025)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    number = pmid(index)
    doi = f"10.5555/trialkb.{number}"
    last = ["Smith", "Garcia", "Chen", "Müller", "Rossi", "Tanaka", "Kowalski", "Dubois", "Okafor", "Silva"]
    first = ["Anna", "Luis", "Wei", "Jonas", "Giulia", "Kenji", "Marta", "Claire", "Chidi", "Paula"]
    authors = "".join(
        f'<Author ValidYN="Y"><LastName>{rng.choice(last)}</LastName><ForeName>{rng.choice(first)}</ForeName>'
        f"<Initials>X</Initials></Author>"
        for _ in range(rng.randint(2, 5))
    )
    abstract = "".join(
        f'<AbstractText Label="{label}" NlmCategory="{label}">{escape(text)}</AbstractText>'
        for label, text in sections
    )
    types = (
        '<PublicationType UI="D017428">Clinical Trial, Phase III</PublicationType>'
        '<PublicationType UI="D016449">Randomized Controlled Trial</PublicationType>'
        if randomised
        else '<PublicationType UI="D017427">Clinical Trial, Phase II</PublicationType>'
    )
    issn_xml = f'<ISSN IssnType="Electronic">{issn}</ISSN>' if issn else ""
    return (
        '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">'
        f'<PMID Version="1">{number}</PMID><Article PubModel="Print">'
        f'<Journal>{issn_xml}<JournalIssue CitedMedium="Internet">'
        f"<Volume>{rng.randint(10, 400)}</Volume><Issue>{rng.randint(1, 24)}</Issue>"
        f"<PubDate><Year>{year}</Year><Month>{MONTHS[month - 1]}</Month><Day>{day}</Day></PubDate></JournalIssue>"
        f"<Title>{escape(journal)}</Title><ISOAbbreviation>{escape(abbreviation)}</ISOAbbreviation></Journal>"
        f"<ArticleTitle>{escape(title)}.</ArticleTitle>"
        f"<Pagination><MedlinePgn>{rng.randint(1, 3000)}-{rng.randint(3001, 3100)}</MedlinePgn></Pagination>"
        f'<ELocationID EIdType="doi" ValidYN="Y">{doi}</ELocationID>'
        f"<Abstract>{abstract}</Abstract>"
        f'<AuthorList CompleteYN="Y">{authors}</AuthorList><Language>eng</Language>'
        '<DataBankList CompleteYN="Y"><DataBank><DataBankName>ClinicalTrials.gov</DataBankName>'
        f"<AccessionNumberList><AccessionNumber>{nct}</AccessionNumber></AccessionNumberList></DataBank></DataBankList>"
        f'<PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType>{types}'
        "</PublicationTypeList></Article></MedlineCitation>"
        f'<PubmedData><ArticleIdList><ArticleId IdType="pubmed">{number}</ArticleId>'
        f'<ArticleId IdType="doi">{doi}</ArticleId></ArticleIdList></PubmedData></PubmedArticle>\n'
    )


def write_corpus(
    directory: Path, count: int, per_file: int = 1000, start: int = 0, seed: int = 11
) -> list[Path]:
    """Write articles ``start`` .. ``start + count - 1`` as PubmedArticleSet files of ``per_file`` articles."""
    vocabulary = load_vocabulary()
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for first in range(start, start + count, per_file):
        last = min(first + per_file, start + count)
        path = directory / f"medline-{first:06d}-{last - 1:06d}.xml"
        with path.open("w", encoding="utf-8") as file:
            file.write("<?xml version='1.0' encoding='UTF-8'?>\n<PubmedArticleSet>\n")
            for index in range(first, last):
                file.write(article_xml(index, vocabulary, seed))
            file.write("</PubmedArticleSet>\n")
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--per-file", type=int, default=1000)
    parser.add_argument("--start", type=int, default=0)
    arguments = parser.parse_args()
    for path in write_corpus(arguments.directory, arguments.count, arguments.per_file, arguments.start):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
