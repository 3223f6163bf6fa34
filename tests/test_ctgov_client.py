"""The ClinicalTrials.gov client against a local HTTP server that mimics the API v2 (never the internet)."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kb.ctgov import (
    CtgovClient,
    InvalidNctId,
    InvalidRecord,
    RecordMoved,
    RecordNotCached,
    RecordNotFound,
    RegistryUnavailable,
)
from kb.ctgov.ratelimit import TokenBucket
from kb.errors import TrialKBError

DATA = Path(__file__).parent / "data" / "ctgov"
NCT = "NCT03739814"
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def record(nct_id: str = NCT, last_update: str = "2023-04-04") -> dict[str, Any]:
    data = json.loads((DATA / "NCT03739814.json").read_text(encoding="utf-8"))
    data["protocolSection"]["identificationModule"]["nctId"] = nct_id
    data["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = last_update
    return data


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str -> raw text
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Mimic:
    """Scripted answers per study id; each request takes the next reply, the last one repeats."""

    def __init__(self) -> None:
        self.script: dict[str, list[Reply]] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def reply(self, path: str) -> Reply:
        with self.lock:
            self.requests.append(path)
            study = urlsplit(path).path.rsplit("/", 1)[-1]
            replies = self.script.get(study) or [Reply(404, {"message": f"Study {study} not found"})]
            return replies.pop(0) if len(replies) > 1 else replies[0]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Mimic]]:
    mimic = Mimic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            reply = mimic.reply(self.path)
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body or {})
            payload = body.encode("utf-8")
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/api/v2"
    yield base, mimic
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def mimic(server: tuple[str, Mimic]) -> Mimic:
    server[1].script.clear()
    server[1].requests.clear()
    return server[1]


class Harness:
    def __init__(self, base: str, cache_dir: Path) -> None:
        self.base = base
        self.cache_dir = cache_dir
        self.sleeps: list[float] = []
        self.now = NOW

    def client(self, **options: Any) -> CtgovClient:
        settings: dict[str, Any] = {
            "cache_dir": self.cache_dir,
            "rate_per_minute": 6_000_000,  # the limiter has its own test
            "sleep": self.sleeps.append,
            "now": lambda: self.now,
            "jitter": lambda: 0.0,
            "timeout": 2.0,
        }
        settings.update(options)
        return CtgovClient(self.base, **settings)


@pytest.fixture()
def harness(server: tuple[str, Mimic], tmp_path: Path) -> Harness:
    return Harness(server[0], tmp_path / "cache")


def test_200_returns_the_record_and_caches_it(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(200, record())]
    with harness.client() as client:
        fetched = client.fetch(" nct03739814 ")
    assert fetched.nct_id == NCT and not fetched.moved and not fetched.from_cache
    assert fetched.data["protocolSection"]["identificationModule"]["nctId"] == NCT
    assert fetched.last_update == "2023-04-04" and fetched.retrieved_at == NOW
    assert fetched.source_url == f"{harness.base}/studies/{NCT}"
    assert (harness.cache_dir / NCT / "2023-04-04.json").is_file()
    pointer = json.loads((harness.cache_dir / NCT / "latest.json").read_text())
    assert pointer["file"] == "2023-04-04.json" and pointer["lastUpdate"] == "2023-04-04"
    assert not list((harness.cache_dir / NCT).glob("*.tmp")), "atomic writes leave no temporary files"


def test_fresh_cache_is_used_without_a_request(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(200, record())]
    with harness.client() as client:
        client.fetch(NCT)
        harness.now = NOW + dt.timedelta(hours=1)
        again = client.fetch(NCT)
    assert again.from_cache and again.retrieved_at == NOW
    assert len(mimic.requests) == 1


def test_stale_cache_checks_the_last_update_then_refetches_a_new_version(
    mimic: Mimic, harness: Harness
) -> None:
    mimic.script[NCT] = [
        Reply(200, record()),
        Reply(200, record()),
        Reply(200, record(last_update="2024-01-02")),
    ]
    with harness.client() as client:
        client.fetch(NCT)
        harness.now = NOW + dt.timedelta(days=2)
        same = client.fetch(NCT)  # the registry still has 2023-04-04: the cache answers
        assert same.from_cache and "fields=" in mimic.requests[1]
        harness.now = NOW + dt.timedelta(days=4)
        mimic.script[NCT] = [Reply(200, record(last_update="2024-01-02"))]
        newer = client.fetch(NCT)
    assert not newer.from_cache and newer.last_update == "2024-01-02"
    assert {p.name for p in (harness.cache_dir / NCT).glob("*.json")} == {
        "2023-04-04.json",
        "2024-01-02.json",
        "latest.json",
    }


def test_offline_uses_the_cache_only(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(200, record())]
    with harness.client() as client:
        client.fetch(NCT)
    with harness.client(offline=True) as offline:
        harness.now = NOW + dt.timedelta(days=365)
        assert offline.fetch(NCT).from_cache
        with pytest.raises(RecordNotCached) as miss:
            offline.fetch("NCT02003222")
    assert len(mimic.requests) == 1
    assert "offline" in str(miss.value) and "--record" in str(miss.value)
    assert isinstance(miss.value, TrialKBError) and miss.value.status == 503


def test_301_to_the_same_api_is_followed_once_and_reported(
    mimic: Mimic, harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    mimic.script["NCT01111111"] = [Reply(301, {}, {"Location": "/api/v2/studies/NCT02222222"})]
    mimic.script["NCT02222222"] = [Reply(200, record("NCT02222222"))]
    with caplog.at_level(logging.WARNING), harness.client() as client:
        fetched = client.fetch("NCT01111111")
    assert fetched.moved and fetched.requested_id == "NCT01111111" and fetched.nct_id == "NCT02222222"
    assert "moved to NCT02222222" in caplog.text
    assert (harness.cache_dir / "NCT02222222" / "latest.json").is_file()


def test_301_elsewhere_or_twice_raises_record_moved(mimic: Mimic, harness: Harness) -> None:
    mimic.script["NCT01111111"] = [Reply(301, {}, {"Location": "https://example.org/elsewhere"})]
    mimic.script["NCT03333333"] = [Reply(301, {}, {"Location": "/api/v2/studies/NCT04444444"})]
    mimic.script["NCT04444444"] = [Reply(301, {}, {"Location": "/api/v2/studies/NCT05555555"})]
    with harness.client() as client:
        with pytest.raises(RecordMoved, match="not a study record"):
            client.fetch("NCT01111111")
        with pytest.raises(RecordMoved, match="has moved to NCT04444444") as twice:
            client.fetch("NCT03333333")
    assert twice.value.new_id == "NCT04444444"


def test_404_is_record_not_found(mimic: Mimic, harness: Harness) -> None:
    with harness.client() as client, pytest.raises(RecordNotFound, match="NCT09999999") as missing:
        client.fetch("NCT09999999")
    assert missing.value.status == 404


def test_400_and_malformed_ids_are_invalid(mimic: Mimic, harness: Harness) -> None:
    mimic.script["NCT00000000"] = [Reply(400, {"message": "Invalid NCT number"})]
    with harness.client() as client:
        with pytest.raises(InvalidNctId, match="rejected") as rejected:
            client.fetch("NCT00000000")
        for bad in ("NCT123", "12345678", "NCT0373981X", ""):
            with pytest.raises(InvalidNctId):
                client.fetch(bad)
    assert rejected.value.status == 400
    assert len(mimic.requests) == 1, "malformed ids never reach the network"


def test_429_honours_retry_after_seconds_and_http_date(mimic: Mimic, harness: Harness) -> None:
    date = email.utils.format_datetime(NOW + dt.timedelta(seconds=7), usegmt=True)
    mimic.script[NCT] = [
        Reply(429, {}, {"Retry-After": "3"}),
        Reply(429, {}, {"Retry-After": date}),
        Reply(200, record()),
    ]
    with harness.client() as client:
        fetched = client.fetch(NCT)
    assert fetched.nct_id == NCT
    assert harness.sleeps == [3.0, 7.0]


def test_retry_after_beyond_the_cap_gives_up_at_once(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(429, {}, {"Retry-After": "3600"}), Reply(200, record())]
    with (
        harness.client() as client,
        pytest.raises(RegistryUnavailable, match="retry after 3600 s") as limited,
    ):
        client.fetch(NCT)
    assert limited.value.status == 503 and harness.sleeps == []


def test_500_then_success_backs_off_exponentially(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(500), Reply(502), Reply(200, record())]
    with harness.client() as client:
        assert client.fetch(NCT).nct_id == NCT
    assert harness.sleeps == [1.0, 2.0]


def test_backoff_has_jitter_and_a_cap(harness: Harness) -> None:
    with harness.client(jitter=lambda: 1.0, max_backoff=5.0) as client:
        assert [client._backoff(n) for n in range(4)] == [1.5, 3.0, 5.0, 5.0]


def test_persistent_5xx_becomes_registry_unavailable(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(500, "Internal Server Error")]
    with (
        harness.client(max_retries=2) as client,
        pytest.raises(RegistryUnavailable, match="answered 500") as failed,
    ):
        client.fetch(NCT)
    assert failed.value.status == 502 and len(mimic.requests) == 3


def test_timeout_retries_then_registry_unavailable(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(200, record(), delay=1.0)]
    with harness.client(timeout=0.2, max_retries=1) as client, pytest.raises(RegistryUnavailable) as slow:
        client.fetch(NCT)
    assert "did not answer within 0.2 s" in str(slow.value) and slow.value.status == 504
    assert len(mimic.requests) == 2 and harness.sleeps == [1.0]


def test_timeout_then_success(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(200, record(), delay=1.0), Reply(200, record())]
    with harness.client(timeout=0.2) as client:
        assert client.fetch(NCT).nct_id == NCT


def test_no_network_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CtgovClient(f"http://127.0.0.1:{port}/api/v2", cache_dir=tmp_path, sleep=lambda s: None)
    with client, pytest.raises(RegistryUnavailable, match="no network") as down:
        client.fetch(NCT)
    assert "--record FILE" in str(down.value) and down.value.status == 503


def test_network_down_falls_back_to_a_stale_cache(mimic: Mimic, harness: Harness, tmp_path: Path) -> None:
    mimic.script[NCT] = [Reply(200, record())]
    with harness.client() as client:
        client.fetch(NCT)
    mimic.script[NCT] = [Reply(503)]
    harness.now = NOW + dt.timedelta(days=3)
    with harness.client(max_retries=0) as client:
        assert client.fetch(NCT).from_cache


def test_malformed_json_from_the_registry_is_an_invalid_record(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(200, "{not json")]
    with harness.client() as client, pytest.raises(InvalidRecord, match="malformed JSON"):
        client.fetch(NCT)
    assert not (harness.cache_dir / NCT).exists(), "nothing is cached from a bad answer"


def test_damaged_cache_entry_is_a_miss(mimic: Mimic, harness: Harness) -> None:
    mimic.script[NCT] = [Reply(200, record())]
    with harness.client() as client:
        client.fetch(NCT)
    (harness.cache_dir / NCT / "2023-04-04.json").write_text("{broken")
    with harness.client(offline=True) as offline, pytest.raises(RecordNotCached):
        offline.fetch(NCT)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_keeps_any_minute_at_or_under_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(120):
        bucket.acquire()
        times.append(clock.now)
    assert clock.slept[0] == pytest.approx(1.2)
    for start in times:
        assert sum(1 for t in times if start <= t < start + 60 - 1e-6) <= 50  # float sums of 1.2 s
    assert times[-1] == pytest.approx(119 * 1.2)


def test_token_bucket_refills_while_idle_and_allows_bursts_up_to_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60, capacity=3, clock=clock, sleep=clock.sleep)
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(1.0)
    clock.now += 100
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_client_requests_are_rate_limited(mimic: Mimic, harness: Harness) -> None:
    clock = FakeClock()
    mimic.script[NCT] = [Reply(200, record())]
    with harness.client(cache_dir=None, rate_per_minute=50, clock=clock, sleep=clock.sleep) as client:
        for _ in range(3):
            client.fetch(NCT)
    assert clock.slept == pytest.approx([1.2, 1.2])
