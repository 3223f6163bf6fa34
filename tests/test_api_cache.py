"""The server's answer cache and ETags: a repeat is served without a worker, a commit invalidates, 304s."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import SAMPLE_QUADS, running_server, write_kb

from kb.api.result_cache import CachedAnswer, CacheKey, ResultCache, etag_for, etag_matches

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
EXTRA = '<https://example.org/extra> <http://www.w3.org/2000/01/rdf-schema#label> "extra" <https://example.org/g> .'


def key(generation: str, query: str, fmt: str = "json") -> CacheKey:
    return (generation, query, (), (), fmt, "http://h/sparql")


def answer(size: int) -> CachedAnswer:
    return CachedAnswer("application/sparql-results+json", b"x" * size, False, 1)


def test_least_recently_used_answers_go_first() -> None:
    cache = ResultCache(max_bytes=3 * 1300, max_entry_bytes=2000)
    for query in ("a", "b", "c"):
        cache.put(key("g1", query), answer(1000))
    assert cache.get(key("g1", "a")) is not None  # now the most recently used
    cache.put(key("g1", "d"), answer(1000))
    assert cache.get(key("g1", "b")) is None
    assert [cache.get(key("g1", q)) is not None for q in ("a", "c", "d")] == [True, True, True]
    assert cache.size <= cache.max_bytes


def test_a_new_commit_drops_every_older_answer() -> None:
    cache = ResultCache(max_bytes=1 << 20)
    cache.put(key("g1", "a"), answer(10))
    cache.put(key("g2", "b"), answer(10))
    assert cache.get(key("g1", "a")) is None
    assert len(cache) == 1


def test_large_answers_and_a_disabled_cache_keep_nothing() -> None:
    cache = ResultCache(max_bytes=1 << 20, max_entry_bytes=100)
    cache.put(key("g1", "big"), answer(1000))
    assert cache.get(key("g1", "big")) is None
    off = ResultCache(max_bytes=0)
    off.put(key("g1", "a"), answer(10))
    assert not off.enabled and off.get(key("g1", "a")) is None


def test_etags_name_every_input_and_match_like_http() -> None:
    tag = etag_for(key("g1", "q"))
    assert tag != etag_for(key("g2", "q")) != etag_for(key("g1", "q", "xml"))
    assert tag.startswith('"') and tag.endswith('"')
    assert etag_matches(tag, tag)
    assert etag_matches(f'"other", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"other"', tag)


@pytest.mark.e2e
def test_repeats_are_served_from_the_cache_until_a_commit(tmp_path: Path) -> None:
    home = write_kb(tmp_path / "kb", SAMPLE_QUADS)
    with running_server(home) as base, httpx.Client(base_url=base, timeout=30) as client:
        first = client.get("/sparql", params={"query": COUNT})
        second = client.get("/sparql", params={"query": COUNT})
        assert first.status_code == second.status_code == 200
        assert (first.headers["x-trialkb-cache"], second.headers["x-trialkb-cache"]) == ("miss", "hit")
        assert first.content == second.content
        assert first.headers["etag"] == second.headers["etag"]
        assert first.headers["cache-control"] == "no-cache"

        # Revalidation: the same query, format and commit is 304 with no body; another format is not.
        etag = first.headers["etag"]
        unchanged = client.get("/sparql", params={"query": COUNT}, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == etag
        as_csv = client.get(
            "/sparql", params={"query": COUNT}, headers={"If-None-Match": etag, "Accept": "text/csv"}
        )
        assert as_csv.status_code == 200 and as_csv.headers["etag"] != etag

        # POST answers are cached server-side but carry no ETag (HTTP caches may not reuse them).
        posted = client.post("/sparql", content=COUNT, headers={"Content-Type": "application/sparql-query"})
        assert posted.status_code == 200 and "etag" not in posted.headers
        assert posted.headers["x-trialkb-cache"] == "hit"

        asked = [client.get("/api/ask", params={"q": "What was the complete remission rate?"}) for _ in "12"]
        assert [r.headers["x-trialkb-cache"] for r in asked] == ["miss", "hit"]
        assert asked[0].json() == asked[1].json()

        before = int(first.json()["results"]["bindings"][0]["n"]["value"])
        write_kb(home, SAMPLE_QUADS + EXTRA + "\n")  # a commit
        after = client.get("/sparql", params={"query": COUNT})
        assert after.headers["x-trialkb-cache"] == "miss"
        assert int(after.json()["results"]["bindings"][0]["n"]["value"]) == before + 1
        assert after.headers["etag"] != etag
        stale = client.get("/sparql", params={"query": COUNT}, headers={"If-None-Match": etag})
        assert stale.status_code == 200


@pytest.mark.e2e
def test_errors_are_never_cached_and_the_cache_can_be_off(tmp_path: Path) -> None:
    home = write_kb(tmp_path / "kb", SAMPLE_QUADS)
    with (
        running_server(home, {"TRIALKB_RESULT_CACHE_MB": "0"}) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        for _ in range(2):
            response = client.get("/sparql", params={"query": COUNT})
            assert response.status_code == 200 and response.headers["x-trialkb-cache"] == "off"
        for _ in range(2):
            bad = client.get("/sparql", params={"query": "SELECT ?x WHERE {"})
            assert bad.status_code == 400 and "x-trialkb-cache" not in bad.headers
