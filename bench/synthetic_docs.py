"""Synthetic trial news releases with varied facts, for benchmarks and fault tests (not for quality scores)."""

from __future__ import annotations

import random
from pathlib import Path

GROUPS = ["Alliance for Clinical Trials in Oncology", "ECOG-ACRIN Cancer Research Group", "SWOG Cancer Research Network",
          "Children's Oncology Group", "NRG Oncology", "GIMEMA"]  # fmt: skip
DRUGS = [
    ("blinatumomab", "a bispecific T-cell engager", "CD19"),
    ("inotuzumab ozogamicin", "a CD22-directed antibody-drug conjugate", "CD22"),
    ("rituximab", "a monoclonal antibody", "CD20"),
    ("tisagenlecleucel", "a CAR T-cell therapy directed against CD19", "CD19"),
    ("ponatinib", "a tyrosine kinase inhibitor", "BCR-ABL1"),
    ("venetoclax", "a BCL-2 inhibitor", "BCL2"),
]
DISEASES = ["B-cell acute lymphoblastic leukemia", "acute myeloid leukemia", "diffuse large B-cell lymphoma",
            "multiple myeloma", "chronic lymphocytic leukemia"]  # fmt: skip
FUNDERS = ["the National Cancer Institute", "Pfizer", "Amgen", "Novartis"]
JOURNALS = ["Journal of Clinical Oncology", "Blood", "The Lancet", "New England Journal of Medicine"]
NUMBERS = ["two", "three", "four", "five", "six"]


def synthetic_document(index: int, seed: int = 7) -> str:
    """One news release about trial number ``index``: a trial name, an NCT id, a drug, counts, outcomes."""
    rng = random.Random(seed * 100_003 + index)
    drug, drug_class, target = rng.choice(DRUGS)
    group = rng.choice(GROUPS)
    disease = rng.choice(DISEASES)
    trial = f"S{10_000 + index}"
    nct = f"NCT{90_000_000 + index:08d}"
    enrolled = rng.randint(20, 900)
    low = rng.randint(18, 60)
    high = low + rng.randint(10, 30)
    cr = rng.randint(30, 99)
    os_rate = rng.randint(30, 95)
    years = rng.choice(["one", "two", "three"])
    cycles = rng.choice(NUMBERS)
    funder = rng.choice(FUNDERS)
    journal = rng.choice(JOURNALS)
    day = rng.randint(1, 28)
    return (
        f"{drug.capitalize()} Shows Activity in {disease.title()}: Results of Trial {trial}\n"
        f"Researchers from the {group} reported results of the phase {rng.choice(['2', '3'])} trial {trial} "
        f"({nct}) in adults with newly diagnosed {disease}.\n"
        f"The trial enrolled {enrolled} patients aged {low} to {high} years.\n"
        f"Patients received {cycles} cycles of {drug}, {drug_class} that targets {target}.\n"
        f"The complete remission rate was {cr}%. At a median follow-up of {years} years, overall survival was {os_rate}%.\n"
        f"The study was supported by {funder}.\n"
        f"Journal: {journal}, 2025;{rng.randint(100, 150)}({rng.randint(1, 24)}):{rng.randint(1, 3000)}\n"
        f"News Publication Date: {day:02d}-Mar-2025\n"
    )


def write_corpus(directory: Path, count: int, seed: int = 7) -> list[Path]:
    """Write ``count`` synthetic documents into ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = directory / f"synthetic-{index:05d}.txt"
        path.write_text(synthetic_document(index, seed), encoding="utf-8")
        paths.append(path)
    return paths
