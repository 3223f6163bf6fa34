"""A ClinicalTrials.gov API v2 record, parsed and validated into frozen dataclasses (``RegistryRecord``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kb.ctgov.errors import InvalidRecord, RecordMismatch
from kb.ctgov.links import NCT_ID, normalize_nct_id
from kb.ctgov.results import Results, parse_results

_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?", re.IGNORECASE)
# Ages become decimal years, rounded to two places (6 Months -> 0.50, 30 Days -> 0.08).
_YEARS_PER_UNIT = {
    "year": Decimal(1),
    "month": Decimal(1) / Decimal(12),
    "week": Decimal(7) / Decimal("365.25"),
    "day": Decimal(1) / Decimal("365.25"),
    "hour": Decimal(1) / Decimal(24 * 365.25),
    "minute": Decimal(1) / Decimal(60 * 24 * 365.25),
}


@dataclass(frozen=True)
class RegistryDate:
    """A date as the registry gives it: ``2023-04-04`` or month precision ``2023-04``, actual or estimated."""

    text: str
    type: str | None = None  # ACTUAL or ESTIMATED

    @property
    def month_only(self) -> bool:
        return len(self.text) == 7


@dataclass(frozen=True)
class Organization:
    name: str
    agency_class: str | None = None  # NIH, FED, INDUSTRY, OTHER, ...


@dataclass(frozen=True)
class Design:
    study_type: str | None = None
    phases: tuple[str, ...] = ()
    allocation: str | None = None
    intervention_model: str | None = None
    primary_purpose: str | None = None
    masking: str | None = None


@dataclass(frozen=True)
class Enrollment:
    count: int
    type: str | None = None  # ACTUAL or ESTIMATED


@dataclass(frozen=True)
class Intervention:
    type: str | None
    name: str
    other_names: tuple[str, ...] = ()
    arm_labels: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class Arm:
    label: str
    type: str | None = None
    description: str | None = None
    intervention_names: tuple[str, ...] = ()  # as the registry writes them: "Biological: Blinatumomab"


@dataclass(frozen=True)
class Outcome:
    measure: str
    time_frame: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Age:
    text: str  # as written: "18 Years"
    years: Decimal | None  # None for "N/A" or an unreadable age


@dataclass(frozen=True)
class Eligibility:
    minimum_age: Age | None = None
    maximum_age: Age | None = None
    sex: str | None = None
    std_ages: tuple[str, ...] = ()
    healthy_volunteers: bool | None = None


@dataclass(frozen=True)
class Official:
    name: str
    affiliation: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class RegistryRecord:
    """The facts of one registry record that the knowledge base keeps."""

    nct_id: str
    brief_title: str | None = None
    official_title: str | None = None
    acronym: str | None = None
    org_study_id: str | None = None
    overall_status: str | None = None
    why_stopped: str | None = None
    status_verified: RegistryDate | None = None
    start_date: RegistryDate | None = None
    primary_completion_date: RegistryDate | None = None
    completion_date: RegistryDate | None = None
    first_posted: RegistryDate | None = None
    last_update_posted: RegistryDate | None = None
    design: Design = Design()
    enrollment: Enrollment | None = None
    lead_sponsor: Organization | None = None
    collaborators: tuple[Organization, ...] = ()
    conditions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    arms: tuple[Arm, ...] = ()
    primary_outcomes: tuple[Outcome, ...] = ()
    secondary_outcomes: tuple[Outcome, ...] = ()
    eligibility: Eligibility = Eligibility()
    officials: tuple[Official, ...] = ()
    has_results: bool = False
    result_measures: tuple[str, ...] = ()  # titles of outcome measures with posted results
    results: Results = Results()  # the posted results section (empty when none)


def age_in_years(text: str) -> Decimal | None:
    """``"18 Years"`` -> 18.00, ``"6 Months"`` -> 0.50; ``None`` for "N/A" or anything unreadable."""
    match = _AGE.fullmatch(text.strip())
    if not match:
        return None
    years = Decimal(match.group(1)) * _YEARS_PER_UNIT[match.group(2).lower()]
    return years.quantize(Decimal("0.01"))


class _Reader:
    """Typed access to a JSON object, raising :class:`InvalidRecord` that names the field path."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        self.data = data
        self.path = path

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def obj(self, key: str) -> _Reader:
        value = self.data.get(key)
        if value is None:
            return _Reader({}, self._at(key))
        if not isinstance(value, Mapping):
            raise InvalidRecord(f"expected an object, got {_kind(value)}", self._at(key))
        return _Reader(value, self._at(key))

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidRecord(f"expected a string, got {_kind(value)}", self._at(key))
        return value.strip() or None

    def integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRecord(f"expected an integer, got {_kind(value)} {value!r}", self._at(key))
        if value < 0:
            raise InvalidRecord(f"expected a non-negative integer, got {value}", self._at(key))
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise InvalidRecord(f"expected true or false, got {_kind(value)} {value!r}", self._at(key))
        return value

    def strs(self, key: str) -> tuple[str, ...]:
        values = self._list(key)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise InvalidRecord(f"expected a string, got {_kind(value)}", f"{self._at(key)}[{index}]")
        return tuple(value.strip() for value in values if value.strip())

    def objs(self, key: str) -> list[_Reader]:
        readers = []
        for index, value in enumerate(self._list(key)):
            if not isinstance(value, Mapping):
                raise InvalidRecord(f"expected an object, got {_kind(value)}", f"{self._at(key)}[{index}]")
            readers.append(_Reader(value, f"{self._at(key)}[{index}]"))
        return readers

    def count(self, key: str) -> int | None:
        """A count the registry gives as a number or a digit string ("2373"); "NA" or nothing is None."""
        value = self.data.get(key)
        if isinstance(value, str):
            value = value.strip().replace(",", "")
            if value.upper() in {"", "NA", "N/A"}:
                return None
            if not value.isdigit():
                raise InvalidRecord(f"expected a count, got {value!r}", self._at(key))
            return int(value)
        return self.integer(key)

    def number(self, key: str) -> Decimal | None:
        """A decimal the registry writes as text ("0.74", "-1.2") or a number; "NA" and the like are None."""
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return None
        text = str(value).strip().replace("\u2212", "-")
        if not _NUMBER.fullmatch(text):
            return None  # "NA", "Not estimable": the registry's words for a missing value
        return Decimal(text)

    def required(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise InvalidRecord("missing", self._at(key))
        return value

    def date(self, key: str) -> RegistryDate | None:
        struct = self.obj(key)
        text = struct.text("date")
        if text is None:
            return None
        if not _DATE.fullmatch(text):
            raise InvalidRecord(f"expected YYYY-MM or YYYY-MM-DD, got {text!r}", struct._at("date"))
        return RegistryDate(text, struct.text("type"))

    def _list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise InvalidRecord(f"expected a list, got {_kind(value)}", self._at(key))
        return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def load_json(text: str | bytes) -> Mapping[str, Any]:
    """Decode a record's JSON text; malformed JSON or a non-object is :class:`InvalidRecord`."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRecord(f"malformed JSON ({exc})") from exc
    if not isinstance(data, Mapping):
        raise InvalidRecord(f"expected a JSON object, got {_kind(data)}")
    return data


def parse_record(data: Mapping[str, Any] | str | bytes, expected_nct_id: str | None = None) -> RegistryRecord:
    """Parse an API v2 study (dict or JSON text). Missing modules are fine; unknown fields are ignored."""
    if isinstance(data, str | bytes):
        data = load_json(data)
    if not isinstance(data, Mapping):
        raise InvalidRecord(f"expected a JSON object, got {_kind(data)}")
    root = _Reader(data, "")
    studies = root.objs("studies")  # a search response holding exactly one study is accepted too
    if studies and "protocolSection" not in data:
        if len(studies) != 1:
            raise InvalidRecord(f"expected one study, got {len(studies)}", "studies")
        root = studies[0]
    protocol = root.obj("protocolSection")
    ident = protocol.obj("identificationModule")
    nct_id = ident.required("nctId")
    if not NCT_ID.fullmatch(nct_id):
        raise InvalidRecord(f"not an NCT id: {nct_id!r}", ident._at("nctId"))
    if expected_nct_id is not None and normalize_nct_id(expected_nct_id) != nct_id:
        raise RecordMismatch(normalize_nct_id(expected_nct_id), nct_id)
    status = protocol.obj("statusModule")
    sponsors = protocol.obj("sponsorCollaboratorsModule")
    results_section = root.obj("resultsSection")
    results = results_section.obj("outcomeMeasuresModule")
    return RegistryRecord(
        nct_id=nct_id,
        brief_title=ident.text("briefTitle"),
        official_title=ident.text("officialTitle"),
        acronym=ident.text("acronym"),
        org_study_id=ident.obj("orgStudyIdInfo").text("id"),
        overall_status=status.text("overallStatus"),
        why_stopped=status.text("whyStopped"),
        status_verified=_month(status, "statusVerifiedDate"),
        start_date=status.date("startDateStruct"),
        primary_completion_date=status.date("primaryCompletionDateStruct"),
        completion_date=status.date("completionDateStruct"),
        first_posted=status.date("studyFirstPostDateStruct"),
        last_update_posted=status.date("lastUpdatePostDateStruct"),
        design=_design(protocol.obj("designModule")),
        enrollment=_enrollment(protocol.obj("designModule").obj("enrollmentInfo")),
        lead_sponsor=_organization(sponsors.obj("leadSponsor")),
        collaborators=tuple(
            org for org in (_organization(item) for item in sponsors.objs("collaborators")) if org
        ),
        conditions=protocol.obj("conditionsModule").strs("conditions"),
        keywords=protocol.obj("conditionsModule").strs("keywords"),
        interventions=_interventions(protocol.obj("armsInterventionsModule")),
        arms=_arms(protocol.obj("armsInterventionsModule")),
        primary_outcomes=_outcomes(protocol.obj("outcomesModule"), "primaryOutcomes"),
        secondary_outcomes=_outcomes(protocol.obj("outcomesModule"), "secondaryOutcomes"),
        eligibility=_eligibility(protocol.obj("eligibilityModule")),
        officials=tuple(
            Official(item.required("name"), item.text("affiliation"), item.text("role"))
            for item in protocol.obj("contactsLocationsModule").objs("overallOfficials")
        ),
        has_results=bool(root.boolean("hasResults")),
        result_measures=tuple(
            title for title in (item.text("title") for item in results.objs("outcomeMeasures")) if title
        ),
        results=parse_results(results_section),
    )


def _month(reader: _Reader, key: str) -> RegistryDate | None:
    text = reader.text(key)
    if text is None:
        return None
    if not _DATE.fullmatch(text):
        raise InvalidRecord(f"expected YYYY-MM or YYYY-MM-DD, got {text!r}", reader._at(key))
    return RegistryDate(text)


def _design(module: _Reader) -> Design:
    info = module.obj("designInfo")
    return Design(
        study_type=module.text("studyType"),
        phases=module.strs("phases"),
        allocation=info.text("allocation"),
        intervention_model=info.text("interventionModel"),
        primary_purpose=info.text("primaryPurpose"),
        masking=info.obj("maskingInfo").text("masking"),
    )


def _enrollment(info: _Reader) -> Enrollment | None:
    count = info.integer("count")
    return None if count is None else Enrollment(count, info.text("type"))


def _organization(reader: _Reader) -> Organization | None:
    name = reader.text("name")
    return Organization(name, reader.text("class")) if name else None


def _interventions(module: _Reader) -> tuple[Intervention, ...]:
    return tuple(
        Intervention(
            type=item.text("type"),
            name=item.required("name"),
            other_names=item.strs("otherNames"),
            arm_labels=item.strs("armGroupLabels"),
            description=item.text("description"),
        )
        for item in module.objs("interventions")
    )


def _arms(module: _Reader) -> tuple[Arm, ...]:
    return tuple(
        Arm(
            label=item.required("label"),
            type=item.text("type"),
            description=item.text("description"),
            intervention_names=item.strs("interventionNames"),
        )
        for item in module.objs("armGroups")
    )


def _outcomes(module: _Reader, key: str) -> tuple[Outcome, ...]:
    return tuple(
        Outcome(item.required("measure"), item.text("timeFrame"), item.text("description"))
        for item in module.objs(key)
    )


def _age(reader: _Reader, key: str) -> Age | None:
    text = reader.text(key)
    return None if text is None else Age(text, age_in_years(text))


def _eligibility(module: _Reader) -> Eligibility:
    return Eligibility(
        minimum_age=_age(module, "minimumAge"),
        maximum_age=_age(module, "maximumAge"),
        sex=module.text("sex"),
        std_ages=module.strs("stdAges"),
        healthy_volunteers=module.boolean("healthyVolunteers"),
    )
