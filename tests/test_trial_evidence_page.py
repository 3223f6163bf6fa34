"""A trial's entity page shows its arms, effect estimates (with a forest plot) and adverse events."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from support import DATA, ingested_kb

from kb import KnowledgeBase
from kb.api.trial_evidence import trial_evidence

DOCUMENTS = [DATA / "corpus" / "paradigmhf-abstract.txt", DATA / "corpus" / "monaleesa2-summary.txt"]


@pytest.fixture(scope="module")
def evidence_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("evidence-page")
    ingested_kb(home, DOCUMENTS)
    return home


def _trials(kb: KnowledgeBase) -> dict[str, str]:
    rows = kb.select("SELECT ?t ?label WHERE { ?t a tkb:ClinicalTrial ; rdfs:label ?label }")
    return {str(row["label"]): str(row["t"]) for row in rows}


def _trial(kb: KnowledgeBase, name: str) -> str:
    matches = [iri for label, iri in _trials(kb).items() if name.lower() in label.lower()]
    assert matches, _trials(kb)
    return matches[0]


def test_forest_plot_positions_follow_the_estimates(evidence_home: Path) -> None:
    kb = KnowledgeBase(evidence_home)
    evidence = trial_evidence(kb.store.native, _trial(kb, "PARADIGM"))
    assert evidence.effects and evidence.plots
    hazard = [plot for plot in evidence.plots if "hazard" in plot.measure]
    assert hazard and hazard[0].log_scale
    for plot in evidence.plots:
        assert 0.0 <= plot.null_x <= 1.0
        for row in plot.rows:
            assert 0.0 <= row.estimate_x <= 1.0
            if row.lower_x is not None and row.upper_x is not None:
                assert row.lower_x <= row.estimate_x <= row.upper_x
    # PARADIGM-HF's primary estimate favours the experimental arm: its point lies left of "no effect".
    assert any(row.estimate_x < hazard[0].null_x for row in hazard[0].rows)
    assert any("CI" in effect["summary"] for effect in evidence.effects)


def test_a_non_trial_has_no_evidence(evidence_home: Path) -> None:
    kb = KnowledgeBase(evidence_home)
    assert trial_evidence(kb.store.native, "https://w3id.org/trialkb/resource/nothing").empty


class _Sections(HTMLParser):
    """Headings and the number of SVG figures and table rows on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.svgs = 0
        self.rects = 0
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_heading = tag in {"h2", "h3"}
        self.svgs += tag == "svg"
        self.rects += tag == "rect"

    def handle_data(self, data: str) -> None:
        if self._in_heading and data.strip():
            self.headings.append(data.strip())
            self._in_heading = False


@pytest.mark.e2e
def test_trial_page_shows_arms_estimates_and_adverse_events(live_server, evidence_home: Path) -> None:  # type: ignore[no-untyped-def]
    base = live_server(evidence_home)
    kb = KnowledgeBase(evidence_home)
    page = httpx.get(base + "/resource/" + _trial(kb, "MONALEESA").split("/resource/", 1)[1], timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sections = _Sections()
    sections.feed(page.text)
    assert "Randomised-trial evidence" in sections.headings
    assert "Effect estimates" in sections.headings and "Adverse events" in sections.headings
    assert sections.svgs >= 1 and sections.rects >= 1
    # A drug's page is not a trial's: no evidence section.
    drug = kb.select("SELECT ?d WHERE { ?d a tkb:Drug } LIMIT 1")[0]["d"]
    other = httpx.get(base + "/resource/" + str(drug).split("/resource/", 1)[1], timeout=30)
    assert other.status_code == 200 and "Randomised-trial evidence" not in other.text
