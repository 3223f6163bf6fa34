"""The web page at ``/``: its HTML and assets (served by the app, no other host), and the page in headless
Chromium against a live ``trialkb serve``: ask, ``/?q=``, the SPARQL editor, entity pages."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.facade import KnowledgeBase
from kb.web import web_router
from kb.web.assets import Assets
from kb.web.context import paragraph_context

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "What was the complete remission rate?"
URL = re.compile(r"https?://[^\s\"'<>()`]+")
# Outbound links a page may show (navigation, not loading): the trial's registry record.
LINK_HOSTS = {"clinicaltrials.gov"}
CDN_HOSTS = ("googleapis", "gstatic", "unpkg", "jsdelivr", "cdnjs", "cloudflare", "fontawesome.com/")


# ------------------------------------------------------------------ the page, without a browser


class References(HTMLParser):
    """Every URL an HTML page loads or links to: (tag, attribute, value)."""

    LOADING = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("source", "src"),
               ("video", "poster"), ("audio", "src"), ("object", "data"), ("embed", "src"),
               ("form", "action"), ("button", "formaction"), ("input", "src")}  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if (tag, name) in self.LOADING or (tag == "a" and name == "href") or name == "srcset":
                self.found.append((tag, name, value))
            if name == "style":
                self.styles.append(value)


def foreign_hosts(urls: list[str]) -> set[str]:
    return {urlsplit(url).netloc for url in urls if urlsplit(url).netloc}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    kb = KnowledgeBase()
    app = FastAPI()
    app.include_router(web_router(kb, kb.settings))
    with TestClient(app) as test_client:
        yield test_client


def page_references(client: TestClient) -> tuple[str, References]:
    response = client.get("/")
    assert response.status_code == 200
    parser = References()
    parser.feed(response.text)
    return response.text, parser


def test_page_has_labelled_forms_landmarks_and_live_regions(client: TestClient) -> None:
    html, _ = page_references(client)
    for needle in ('<main id="main"', "<header", "<footer", 'for="ask-input"', 'for="search-input"',
                   'for="sparql-text"', 'for="example-select"', 'aria-live="polite"', 'lang="en"',
                   'name="viewport"'):  # fmt: skip
        assert needle in html, needle
    assert html.count('aria-live="polite"') >= 3


def test_page_lists_every_competency_query_as_an_example(client: TestClient) -> None:
    from kb import queries

    html, _ = page_references(client)
    for name in queries.names():
        assert f'<option value="{name}"' in html


def test_page_forbids_other_hosts_by_content_security_policy(client: TestClient) -> None:
    policy = client.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy and "http" not in policy


def test_page_and_its_assets_reference_no_other_host(client: TestClient) -> None:
    html, parser = page_references(client)
    loaded = [value for tag, _, value in parser.found if tag != "a"]
    assert loaded, "the page loads its own assets"
    for value in loaded:
        assert not urlsplit(value).netloc and not value.startswith("//"), value
    links = [value for tag, _, value in parser.found if tag == "a"]
    assert foreign_hosts(links) <= LINK_HOSTS
    # Text of the page (example queries' PREFIX lines are identifiers, not addresses to load) aside, every
    # asset is fetched and checked: our own JS and CSS name no host at all; vendored CSS loads nothing
    # from elsewhere; vendored JS names no CDN (the browser test checks what it actually requests).
    assets = [value for value in loaded if value.startswith("/static/")]
    scripts = set(assets)
    for asset in list(scripts):  # ES module imports of our own scripts
        if asset.endswith(".js") and "/vendor/" not in asset:
            body = client.get(asset).text
            scripts |= {"/static/" + name for name in re.findall(r'from "\./([\w.-]+\.js)"', body)}
    for asset in sorted(scripts):
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = response.text
        if "/vendor/" not in asset:
            assert not URL.findall(body), f"{asset} names another host: {URL.findall(body)[:3]}"
        elif asset.endswith(".css"):
            for target in re.findall(r"url\(\s*['\"]?([^'\")]+)", body):
                assert target.startswith("data:") or not urlsplit(target).netloc, (asset, target)
            assert "@import" not in body
        else:
            for host in CDN_HOSTS:
                assert host not in body, (asset, host)


def test_static_files_are_served_by_name_only(client: TestClient) -> None:
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    for path in ("/static/../router.py", "/static/%2e%2e/router.py", "/static/.hidden", "/static/templates",
                 "/static/vendor/package.json", "/static/vendor/../../pyproject.toml", "/static/nope.js"):  # fmt: skip
        assert client.get(path).status_code == 404, path


def test_vendored_yasgui_is_served_when_npm_installed_it(client: TestClient) -> None:
    if not Assets().has_yasgui():
        pytest.skip("node_modules has no @zazuko/yasgui (run `make web-deps`); the built-in editor is used")
    html, _ = page_references(client)
    assert "/static/vendor/yasgui/yasgui.min.js" in html
    response = client.get("/static/vendor/yasgui/yasgui.min.js")
    assert response.status_code == 200 and len(response.content) > 100_000


def test_page_without_yasgui_falls_back_to_its_own_editor(tmp_path: Path) -> None:
    kb = KnowledgeBase()
    app = FastAPI()
    app.include_router(web_router(kb, kb.settings, node_modules=tmp_path))
    html = TestClient(app).get("/").text
    assert "vendor/yasgui" not in html and 'data-engine="builtin"' in html


def test_paragraph_context_marks_the_span_inside_its_paragraph() -> None:
    source = "Title\n\nFirst sentence. The CR rate was 97%. Last one.\n\nNext paragraph."
    start = source.index("The CR")
    end = source.index(" Last")
    found = paragraph_context(source, start, end, "doc")
    assert found is not None
    assert found.text == "The CR rate was 97%."
    assert found.before == "First sentence. " and found.after == " Last one."
    assert paragraph_context(source, 5, 500) is None


# ------------------------------------------------------------------ the page in a browser, live server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    if not KnowledgeBase().exists():
        pytest.skip("the bundled KB is not built (run `trialkb build`)")
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    log = ARTIFACTS / "web-server.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kb", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"trialkb serve exited ({process.returncode}): {log.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("trialkb serve did not answer /healthz within 120 s")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip(
            "no system Chromium at /usr/bin/chromium (apt-get install chromium, or `make browser-deps`)"
        )
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visit:
    """A page in a fresh context that records every request it makes and every script error."""

    def __init__(self, browser: Any, base: str, width: int = 1200) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, path: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("html[data-ready=true]", timeout=30_000)
        return self.page

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors
        server = urlsplit(self.base).netloc
        elsewhere = [url for url in self.requests if urlsplit(url).scheme in {"http", "https", "ws", "wss"}
                     and urlsplit(url).netloc != server]  # fmt: skip
        assert not elsewhere, f"the page requested other hosts: {elsewhere[:5]}"


@pytest.fixture
def visit(browser: Any, live_server: str) -> Iterator[Visit]:
    opened = Visit(browser, live_server)
    yield opened
    opened.close()


def ask_works(base: str) -> None:
    response = httpx.get(base + "/api/ask", params={"q": QUESTION}, timeout=60)
    if response.status_code != 200:
        pytest.skip(f"/api/ask is not available yet ({response.status_code}: {response.text[:200]})")


def check_answer(page: Any) -> None:
    page.wait_for_selector("#answer article", timeout=60_000)
    article = page.locator("#answer article")
    if "abstained" in (article.get_attribute("class") or ""):
        assert page.locator("#answer .abstain-reason").inner_text().strip()
        return
    assert page.locator("#answer .answer-value").inner_text().strip()
    page.wait_for_selector("#answer .evidence mark", timeout=10_000)
    assert page.locator("#answer .evidence mark").first.inner_text().strip()
    assert (page.locator("#answer .sparql-behind code").text_content() or "").strip()


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_asks_a_question_and_shows_highlighted_evidence(visit: Visit) -> None:
    ask_works(visit.base)
    page = visit.open("/")
    page.focus("#ask-input")
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")  # Enter submits
    check_answer(page)
    assert "q=" in page.url  # a shareable address
    visit.shot("web-ask")
    if page.locator("#answer .open-in-editor").count():
        page.locator("#answer .sparql-behind summary").click()
        page.locator("#answer .open-in-editor").click()
        page.click("#run-query")
        page.wait_for_selector("#sparql-results table, #sparql-results .notice", timeout=30_000)
        visit.shot("web-answer-sparql-in-editor")


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_opens_a_shared_question_address(visit: Visit) -> None:
    ask_works(visit.base)
    page = visit.open("/?q=" + quote(QUESTION))
    check_answer(page)
    assert page.input_value("#ask-input") == QUESTION
    visit.shot("web-shared-question")


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_runs_an_example_query_and_shows_the_table(visit: Visit) -> None:
    page = visit.open("/")
    page.select_option("#example-select", "drugs")
    page.click("#run-query")
    page.wait_for_selector("#sparql-results table.results-table tbody tr", timeout=30_000)
    headers = page.locator("#sparql-results th").all_inner_texts()
    assert "drugLabel" in headers
    assert page.locator("#sparql-results tbody tr").count() >= 1
    assert "row" in page.inner_text("#sparql-status")
    visit.shot("web-sparql-table")
    with page.expect_download() as download_info:
        page.click(".downloads button[value=csv]")
    path = download_info.value.path()
    assert path is not None and Path(path).read_text().startswith("drug")


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_follows_a_drug_to_its_page_and_back_to_the_trial(visit: Visit) -> None:
    page = visit.open("/")
    page.select_option("#example-select", "drugs")
    page.click("#run-query")
    page.wait_for_selector("#sparql-results a[href^='/resource/drug/']", timeout=30_000)
    page.locator("#sparql-results a[href^='/resource/drug/']").first.click()
    page.wait_for_load_state()
    assert "/resource/drug/" in page.url
    assert page.locator("h1").inner_text().strip()
    visit.shot("web-drug-page")
    page.locator("a[href^='/resource/trial/']").first.click()
    page.wait_for_load_state()
    assert "/resource/trial/" in page.url
    section = page.locator("section.reconciliation")
    if section.count():  # the registry comparison shows only where GET /api/reconcile/{nct} answers
        nct = section.first.get_attribute("data-nct")
        answered = httpx.get(f"{visit.base}/api/reconcile/{nct}", timeout=30).status_code == 200
        if answered:
            page.wait_for_selector("section.reconciliation:not([hidden])", timeout=10_000)
        else:
            assert section.first.is_hidden()
    visit.shot("web-trial-page")


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_searches_passages(visit: Visit) -> None:
    page = visit.open("/")
    page.fill("#search-input", "complete remission")
    page.press("#search-input", "Enter")
    page.wait_for_selector("#search-results .hit, #search-results .notice", timeout=60_000)
    hits = httpx.get(f"{visit.base}/api/search", params={"q": "complete remission", "k": 10}, timeout=60)
    if hits.status_code == 200 and hits.json().get("hits"):
        assert page.locator("#search-results .error").count() == 0, page.inner_text("#search-results")
        assert page.locator("#search-results .hit").count() == len(hits.json()["hits"])
        assert page.locator("#search-results .hit .document").first.inner_text().strip()
        assert page.locator("#search-results .hit .retriever").count() >= 1
    visit.shot("web-search")


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_page_is_usable_on_a_phone(browser: Any, live_server: str) -> None:
    phone = Visit(browser, live_server, width=375)
    try:
        page = phone.open("/")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px at 375px"
        page.keyboard.press("Tab")  # the skip link comes first and is visible when focused
        assert page.evaluate("document.activeElement.className") == "skip-link"
        phone.shot("web-phone")
    finally:
        phone.close()


def test_paragraph_context_of_a_long_paragraph_is_cut_at_sentences() -> None:
    filler = " ".join(f"Sentence number {n} says little." for n in range(40))
    source = f"{filler} The CR rate was 97%. {filler}"
    start = source.index("The CR")
    found = paragraph_context(source, start, start + len("The CR rate was 97%."))
    assert found is not None
    assert len(found.before) <= 320 and found.before.startswith("Sentence number")
    assert len(found.after) <= 320 and found.after.rstrip().endswith(".")
