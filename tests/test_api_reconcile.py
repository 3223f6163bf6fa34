"""``/api/reconcile/{nct_id}`` against a live server on the seed KB with its registry record linked."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import SEED_NCT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base(live_server, linked_seed_kb: Path) -> str:  # type: ignore[no-untyped-def]
    return str(live_server(linked_seed_kb))


def test_enrollment_differs_cohort_against_whole_study(base: str) -> None:
    response = httpx.get(f"{base}/api/reconcile/{SEED_NCT.lower()}", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    result = response.json()
    assert result["nct_id"] == SEED_NCT and result["registry_graph"] and result["documents"]
    enrollment = next(item for item in result["items"] if item["topic"] == "enrollment")
    assert enrollment["status"] == "differ" and not enrollment["conflict"]
    assert [value["value"] for value in enrollment["article"]] == [33]
    assert [value["value"] for value in enrollment["registry"]] == [64]
    assert enrollment["registry"][0]["source"].startswith("https://clinicaltrials.gov/study/")
    assert enrollment["article"][0]["source"] in result["documents"]


@pytest.mark.parametrize(
    ("nct_id", "status", "kind"), [("NCT123", 400, "invalid-nct-id"), ("NCT00000000", 404, "not-found")]
)
def test_errors_are_problems(base: str, nct_id: str, status: int, kind: str) -> None:
    response = httpx.get(f"{base}/api/reconcile/{nct_id}", timeout=30)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["type"].endswith(kind) and nct_id in problem["detail"]
