"""Words of questions: English function words, and number words with their values."""

from __future__ import annotations

COMMON_WORDS = frozenset(
    """
    a about above across after again against all also am an and any are as at be been before being below
    between both but by can could did do does doing done down during each either else ever every few for
    from further had has have having he her here hers him his how i if in into is it its itself just least
    less like may me might more most much must my no nor not now of off on once one only or other our out
    over own per same she should so some such than that the their them then there these they this those
    through to too under until up upon us very was we were what when where which while who whom whose why
    will with within without would you your yours
    patients patient participants people adults trial trials study studies drug drugs rate rates value
    percentage percent proportion number many much median mean average reported report reports result
    results group groups arm arms cohort cohorts treatment treatments therapy regimen cycles cycle
    received receive given give gave used use using target targets targeted targeting class kind type
    name called phase primary secondary endpoint outcome outcomes year years month months week weeks
    survival remission response overall complete disease cancer blood leukemia leukaemia
    enrolled randomized randomised treated included published journal paper article author authors
    sponsor sponsored funded funding grants grant company companies organization organisation conducted
    ran run led lead first date when age ages range old older status positive negative prior history
    dose doses dosage chemotherapy include included including alive free event events death deaths
    hazard ratio time point points follow followup show showed shown find found finding findings
    """.split()
)
"""Words never read as entity names on their own (nor as typos of one)."""

NUMBER_WORDS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "single": 1, "a": 1})

WORDS_FOR_NUMBERS: dict[int, tuple[str, ...]] = {}
for _word, _value in NUMBER_WORDS.items():
    if _word not in {"a", "single"}:
        WORDS_FOR_NUMBERS[_value] = (*WORDS_FOR_NUMBERS.get(_value, ()), _word)

_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ONES = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
for _tens_word, _tens_value in _TENS.items():
    WORDS_FOR_NUMBERS[_tens_value] = (_tens_word,)
    for _offset, _one in enumerate(_ONES, start=1):
        WORDS_FOR_NUMBERS[_tens_value + _offset] = (f"{_tens_word}-{_one}", f"{_tens_word} {_one}")
