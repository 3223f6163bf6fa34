"""The QA lookups made for large KBs give what the straightforward scans gave: the trial a question names,
typo matches against the KB's names, and arm names without the trial's name."""

from __future__ import annotations

import difflib
import random
import re

from kb.qa.linking import LinkedEntity, _arm_names, _longest_by_lower, _TypoMatcher
from kb.qa.trial_names import TrialNameIndex


def _scan(trials: list[tuple[str, list[str]]], question: str) -> str | None:
    """The trial named in the question as every name was tried before (a regex each): a name written as the
    trial writes it first, then the longest, then the first found."""
    best: tuple[bool, int, str] | None = None
    for iri, names in trials:
        for name in names:
            found = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", question, re.IGNORECASE)
            if found:
                key = (found.group(0) == name, len(name), iri)
                if best is None or key[:2] > best[:2]:
                    best = key
    if best is not None:
        return best[2]
    return trials[0][0] if len(trials) == 1 else None


TRIALS = [
    ("t:aria-1", ["ARIA-1", "NCT80000001", "ARIA-1 trial of alectinib"]),
    ("t:aria-10", ["ARIA-10", "NCT80000010"]),
    ("t:e1910", ["E1910", "ECOG-ACRIN E1910"]),
    ("t:duplicate", ["E1910"]),  # the same name as an earlier trial: the earlier one wins
    ("t:short", ["AB", "X"]),
    ("t:accent", ["ÉTUDE-7"]),
]


def test_trial_named_in_matches_the_scan() -> None:
    index = TrialNameIndex(TRIALS)
    questions = [
        "What was the hazard ratio in ARIA-1?",
        "What was the hazard ratio in aria-10?",
        "What about ARIA-100?",  # no name: ARIA-10 is inside a longer hyphenated word
        "Who ran ECOG-ACRIN E1910 and E1910?",
        "Results of the ARIA-1 trial of alectinib and ARIA-10",
        "Is AB the same as X?",
        "What did étude-7 find?",  # not ASCII: every name is tried
        "What did ÉTUDE-7 find?",
        "nothing here",
        "",
        "NCT80000010 and NCT80000001",
    ]
    for question in questions:
        assert index.named_in(question) == _scan(TRIALS, question), question
    assert index.named_in("Who ran ECOG-ACRIN E1910?") == "t:e1910"
    assert index.named_in("Who funded E1910?") == "t:e1910"


def test_trial_named_in_on_random_names() -> None:
    rng = random.Random(5)
    stems = ["ARIA", "BOREAL", "KEYNOTE", "E", "S", "AB-C"]
    trials = [
        (f"t:{i}", [f"{rng.choice(stems)}-{rng.randint(1, 300)}", f"NCT{rng.randint(0, 999):08d}"])
        for i in range(400)
    ]
    index = TrialNameIndex(trials)
    for _ in range(300):
        names = [rng.choice(rng.choice(trials)[1]) for _ in range(rng.randint(0, 3))]
        question = " and ".join(name.lower() if rng.random() < 0.3 else name for name in names) + "?"
        assert index.named_in(question) == _scan(trials, question), question


def test_only_trial_is_the_answer_when_none_is_named() -> None:
    assert TrialNameIndex([("t:only", ["SOLO"])]).named_in("What was the response rate?") == "t:only"
    assert TrialNameIndex(TRIALS).named_in("What was the response rate?") is None


def _difflib_best(names: list[tuple[str, LinkedEntity]], candidate: str, size: int) -> LinkedEntity | None:
    best, best_entity = 0.0, None
    for key, entity in names:
        if abs(len(key) - len(candidate)) > 3 or key.count(" ") != size - 1:
            continue
        matcher = difflib.SequenceMatcher(None, candidate, key)
        if matcher.real_quick_ratio() < 0.85 or matcher.quick_ratio() < 0.85:
            continue
        ratio = matcher.ratio()
        if ratio > best:
            best, best_entity = ratio, entity
    return best_entity if best_entity is not None and best >= 0.85 else None


def test_typo_matcher_matches_difflib() -> None:
    words = ["pembrolizumab", "nivolumab", "ibrutinib", "venetoclax", "multiple myeloma", "overall survival",
             "progression free survival", "blinatumomab", "inotuzumab ozogamicin", "acalabrutinib"]  # fmt: skip
    names = [(word, LinkedEntity(f"e:{i}", "Drug", word)) for i, word in enumerate(words)]
    names.append(("ibrutinib", LinkedEntity("e:second", "Drug", "ibrutinib")))  # the first of equals wins
    matcher = _TypoMatcher(names)
    rng = random.Random(3)
    candidates = ["pembrolizmab", "nivolumabb", "ibrutnib", "venetoclx", "multiple myelomma", "overal survival",
                  "acalabrutnib", "ibrutinib", "zanubrutinib", "patients", "randomly assigned"]  # fmt: skip
    for word in words:
        for _ in range(5):
            letters = list(word)
            del letters[rng.randrange(len(letters))]
            candidates.append("".join(letters))
    for candidate in candidates:
        size = candidate.count(" ") + 1
        expected = _difflib_best(names, candidate, size)
        assert matcher.best(candidate, size) is expected, candidate
        assert matcher.best(candidate, size) is expected, candidate  # remembered
    assert matcher.best("ibrutinib", 1) is names[2][1]


def test_arm_names_drop_the_longest_trial_name() -> None:
    trials = _longest_by_lower({"KRYPTO", "KRYPTO-7", "E1910"})
    assert _arm_names(["KRYPTO-7 placebo group"], trials) == ["placebo group", "placebo"]
    assert _arm_names(["krypto placebo arm"], trials) == ["placebo arm", "placebo"]
    assert _arm_names(["Blinatumomab group"], trials) == ["Blinatumomab group", "Blinatumomab"]
