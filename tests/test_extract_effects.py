"""Randomised-trial evidence extraction against gold facts written by reading each text (issue 14).

Documents: three written for these tests from published facts (``tests/data/evidence/``: DAPA-HF structured
abstract, RECOVERY dexamethasone news release, FOURIER trial summary) and the four shared randomised-trial
documents of ``tests/data/corpus/``. Gold lists: ``tests/data/gold_facts/<document id>.jsonl``, facts
``effect`` (trial, kind, value, lower, upper, P as written, endpoint), ``armValue`` and ``adverseEvent``
(trial, arm, value, what).

* Effect estimates with their bounds: an extracted estimate is right when its trial, kind, value, both
  bounds and P value (or its absence) equal a gold one. Precision = right / extracted; recall = right / gold.
* Per-arm attribution: of the per-arm values (outcomes and adverse events) whose trial and number are in the
  gold list, the share given to the gold arm; recall = gold values found with their arm / gold values.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kb.extract import extract
from kb.ingest import parse_document, read_document
from kb.models import Entity, Extraction

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "data" / "gold_facts"
OWN = sorted((ROOT / "tests" / "data" / "evidence").glob("*.txt"))
SHARED = [
    ROOT / "tests" / "data" / "corpus" / name
    for name in (
        "paradigmhf-abstract.txt",
        "actt1-news.txt",
        "monaleesa2-summary.txt",
        "sprint-accordbp-news.txt",
    )
]

Effect = tuple[str, str, Decimal, Decimal | None, Decimal | None, str | None]
ArmValue = tuple[str, str, Decimal]


def _gold(path: Path) -> list[dict[str, object]]:
    document_id = read_document(path).id
    lines = (GOLD / f"{document_id}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value)).normalize()


def _objects(extraction: Extraction) -> dict[Entity, dict[str, object]]:
    """Each subject's facts: predicate -> object (value or entity label)."""
    found: dict[Entity, dict[str, object]] = {}
    for fact in extraction.facts:
        value = fact.object.label if isinstance(fact.object, Entity) else fact.object.value
        found.setdefault(fact.subject, {}).setdefault(fact.predicate, value)
    return found


def _trial_of(extraction: Extraction) -> dict[Entity, str]:
    """The trial (its label) each evidence node belongs to."""
    owner = {}
    for fact in extraction.facts:
        if fact.predicate in {"hasEffectEstimate", "hasOutcome", "hasAdverseEvent"} and isinstance(
            fact.object, Entity
        ):
            owner[fact.object] = fact.subject.label
    return owner


def _arm_name(arm_label: str, trial: str) -> str:
    return arm_label.removeprefix(trial + " ").removesuffix(" group").removesuffix(" arm").lower()


def extracted_effects(extraction: Extraction) -> list[Effect]:
    owner, objects = _trial_of(extraction), _objects(extraction)
    out = []
    for node, facts in objects.items():
        if node.kind != "EffectEstimate":
            continue
        kind = str(facts["effectMeasure"])
        out.append(
            (
                owner[node],
                {"HazardRatio": "hazard ratio"}.get(kind, _words(kind)),
                _decimal(facts["estimate"]) or Decimal(0),
                _decimal(facts.get("ciLower")),
                _decimal(facts.get("ciUpper")),
                str(facts["pValueText"]) if "pValueText" in facts else None,
            )
        )
    return out


def _words(kind: str) -> str:
    return "".join(" " + c.lower() if c.isupper() else c for c in kind).strip()


def extracted_arm_values(extraction: Extraction) -> list[ArmValue]:
    owner, objects = _trial_of(extraction), _objects(extraction)
    out = []
    for node, facts in objects.items():
        if node.kind == "OutcomeMeasurement" and str(facts.get("population", "")).endswith(
            (" group", " arm")
        ):
            if node not in owner or "participants" in str(facts["population"]):
                continue
            out.append(
                (
                    owner[node],
                    _arm_name(str(facts["population"]), owner[node]),
                    _decimal(facts["numericValue"]) or Decimal(0),
                )
            )
        elif node.kind == "AdverseEventCount":
            arm = str(facts["inArm"])
            out.append(
                (owner[node], _arm_name(arm, owner[node]), _decimal(facts["percentage"]) or Decimal(0))
            )
    return out


def score(paths: list[Path]) -> dict[str, tuple[int, int, int]]:
    """(right, extracted, gold) for effect estimates and for per-arm values."""
    effects = [0, 0, 0]
    arms = [0, 0, 0]
    for path in paths:
        extraction = extract(read_document(path))
        gold = _gold(path)
        gold_effects = {
            (
                str(g["o"]["trial"]),  # type: ignore[index]
                str(g["o"]["kind"]),  # type: ignore[index]
                _decimal(g["o"]["value"]),  # type: ignore[index]
                _decimal(g["o"]["lower"]),  # type: ignore[index]
                _decimal(g["o"]["upper"]),  # type: ignore[index]
                g["o"]["p"],  # type: ignore[index]
            )
            for g in gold
            if g["p"] == "effect"
        }
        found = extracted_effects(extraction)
        effects[0] += sum(1 for e in found if e in gold_effects)
        effects[1] += len(found)
        effects[2] += len(gold_effects)
        gold_arms = {
            (str(g["o"]["trial"]), str(g["o"]["arm"]), _decimal(g["o"]["value"]))  # type: ignore[index]
            for g in gold
            if g["p"] in {"armValue", "adverseEvent"}
        }
        numbers = {(t, v) for t, _, v in gold_arms}
        values = [v for v in extracted_arm_values(extraction) if (v[0], v[2]) in numbers]
        arms[0] += sum(1 for v in values if v in gold_arms)
        arms[1] += len(values)
        arms[2] += len(gold_arms)
    return {"effects": (effects[0], effects[1], effects[2]), "arms": (arms[0], arms[1], arms[2])}


def _render(name: str, scores: dict[str, tuple[int, int, int]]) -> str:
    right, found, gold = scores["effects"]
    arm_right, arm_found, arm_gold = scores["arms"]
    return (
        f"{name}: effect estimates with bounds: precision {right / max(found, 1):.3f} ({right}/{found}), "
        f"recall {right / max(gold, 1):.3f} ({right}/{gold}); per-arm values: attribution "
        f"{arm_right / max(arm_found, 1):.3f} ({arm_right}/{arm_found}), recall {arm_right / max(arm_gold, 1):.3f} "
        f"({arm_right}/{arm_gold})"
    )


@pytest.mark.parametrize("paths", [OWN, SHARED], ids=["own-documents", "shared-corpus"])
def test_effect_estimates_and_arm_attribution_meet_targets(paths: list[Path]) -> None:
    scores = score(paths)
    print()
    print(_render("own documents" if paths is OWN else "shared corpus", scores))
    right, found, gold = scores["effects"]
    assert right / found >= 0.95 and right / gold >= 0.85
    arm_right, arm_found, _ = scores["arms"]
    assert arm_right / arm_found >= 0.95


def _one(text: str) -> Extraction:
    return extract(parse_document("t.txt", "Results of the KRYPTO-7 trial\n" + text))


def _effects(text: str) -> list[tuple[str, Decimal, Decimal | None, Decimal | None, str | None]]:
    return [(kind, value, lo, hi, p) for _, kind, value, lo, hi, p in extracted_effects(_one(text))]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "KRYPTO-7 (NCT01234567) met its goal (hazard ratio, 0.74; 95% CI, 0.65 to 0.85; P<0.001).",
            ("hazard ratio", "0.74", "0.65", "0.85", "P<0.001"),
        ),
        (
            "In KRYPTO-7 (NCT01234567), survival improved (HR 0.74 [0.65\u20130.85]).",
            ("hazard ratio", "0.74", "0.65", "0.85", None),
        ),
        (
            "In KRYPTO-7 (NCT01234567), deaths fell (rate ratio 0.83 (95% confidence interval 0.75 to 0.93)).",
            ("rate ratio", "0.83", "0.75", "0.93", None),
        ),
        (
            "In KRYPTO-7 (NCT01234567), the drug reduced the relative risk by 38%.",
            ("relative risk reduction", "38", None, None, None),
        ),
        (
            "In KRYPTO-7 (NCT01234567), response was likelier (odds ratio [OR], 2.10; 95% CI, 1.40 to 3.15).",
            ("odds ratio", "2.10", "1.40", "3.15", None),
        ),
        (
            "In KRYPTO-7 (NCT01234567), progression-free survival: HR 0.55, 95% CI 0.44\u20130.68, p<0.001.",
            ("hazard ratio", "0.55", "0.44", "0.68", "p<0.001"),
        ),
        (
            "In KRYPTO-7 (NCT01234567), the mean difference in HbA1c was -0.9 percentage points (95% CI, -1.1 to -0.7).",
            ("mean difference", "-0.9", "-1.1", "-0.7", None),
        ),
    ],
)
def test_effect_estimates_in_their_usual_forms(sentence: str, expected: tuple[str, ...]) -> None:
    kind, value, lower, upper, p = expected
    wanted = (kind, Decimal(value), _decimal(lower), _decimal(upper), p)
    assert _effects(sentence) == [wanted]


def test_a_confidence_interval_is_never_a_result() -> None:
    extraction = _one(
        "KRYPTO-7 (NCT01234567) enrolled 200 patients. The complete remission rate was 61% (95% CI, 52 to 70%)."
    )
    rates = {
        f.object.value
        for f in extraction.facts
        if f.predicate == "numericValue" and not isinstance(f.object, Entity)
    }
    assert Decimal(95) not in rates and Decimal(52) not in rates and Decimal(61) in rates


def test_each_trial_of_a_two_trial_item_gets_its_own_facts() -> None:
    extraction = extract(read_document(SHARED[3]))
    trials = {f.subject.label: f.object.value for f in extraction.facts if f.predicate == "nctId"}  # type: ignore[union-attr]
    assert trials == {"SPRINT": "NCT01206062", "ACCORD-BP": "NCT00000620"}
    names = {str(f.object.value) for f in extraction.facts if f.predicate == "trialName"}  # type: ignore[union-attr]
    assert {"SPRINT", "ACCORD-BP", "ACCORD"} <= names
    effects = {(trial, value) for trial, _, value, *_ in extracted_effects(extraction)}
    assert ("SPRINT", Decimal("0.75")) in effects and ("ACCORD-BP", Decimal("0.88")) in effects
    assert ("SPRINT", Decimal("0.88")) not in effects


def test_arms_roles_doses_of_a_randomisation_sentence() -> None:
    extraction = extract(read_document(SHARED[0]))
    roles = {f.subject.label: f.object.key for f in extraction.facts if f.predicate == "armRole"}  # type: ignore[union-attr]
    assert roles == {
        "PARADIGM-HF lcz696 group": "ExperimentalArm",
        "PARADIGM-HF enalapril group": "ActiveComparatorArm",
    }
    doses = {f.subject.label for f in extraction.facts if f.predicate == "doseAmount"}
    assert doses == {"sacubitril-valsartan 200 mg twice daily", "enalapril 10 mg twice daily"}
    ratio = {f.object.value for f in extraction.facts if f.predicate == "allocationRatio"}  # type: ignore[union-attr]
    assert ratio == {"1:1"}
