"""The workbench (``forcegen serve``) driven in a real headless browser.

The server runs in a thread of the test process on a free port; Chromium (Debian's
``chromium``, driven by Playwright) opens its page with every request recorded, and any
request to anywhere but the server aborted. A screenshot of each state is kept under the
test's tmp folder, and copied to ``test-artifacts/web/`` when ``FORCEGEN_ARTIFACTS`` is set.

Where Chromium, Playwright or Panel is missing the tests are skipped, except under CI (``CI``
set), where a missing browser fails.
"""

from __future__ import annotations

import http.client
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forcegen.api import simulate
from forcegen.report import formats as fmt
from forcegen.scenario.loader import load

pytest.importorskip("panel", reason="the workbench needs Panel (pip install 'forcegen[web]')")

from forcegen.web.server import Running, serve  # noqa: E402

ROOT = Path(__file__).parents[1]
NAME = "workbench.yaml"
SCENARIO = """\
forcegen: 1
name: Workbench test
question: Does a rotation of battalions keep the front covered?
start: 2023-01-01
horizon: 120d
forces: [{id: blue}]
unit_types: [{id: bn}]
locations:
  - id: front
    attrition: {killed: {pert: [1%/mo, 2%/mo, 4%/mo]}, wounded: 4%/mo}
  - id: home
policies:
  - id: p
    positions:
      - {name: front, location: front, duration: 30d, deployed: true}
      - {name: home, location: home, duration: 30d}
units:
  - id: b
    force: blue
    type: bn
    count: {choose: size, default: small, options: {small: 6, large: 10}}
    strength: 500
    policy: p
demands: [{id: d, location: front, people: 2000, fill: {forces: [blue]}}]
"""
CHOICE, OPTION = "size", "large"
VALUE, TEXT = "units[b].strength", "400"
BROKEN = "forcegen: 1\nname: broken\nstart: 2023-01-01\nhorizon: 30x\n"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


def _browser_or_skip() -> str:
    browser = _chromium()
    try:
        import playwright.sync_api  # noqa: F401
    except ModuleNotFoundError:
        browser = None
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium and Playwright for this test (.ci/run)")
        pytest.skip("no Chromium or no Playwright here (apt-get install chromium)")
    return browser


# --- the folder, the servers, the browser ------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of scenarios (one that runs, one with an error) beside a folder it must not
    reach: a scenario outside it, linked from inside, and a linked directory."""
    base = tmp_path_factory.mktemp("web")
    root, outside = base / "scenarios", base / "outside"
    root.mkdir()
    outside.mkdir()
    (root / NAME).write_text(SCENARIO, encoding="utf-8")
    (root / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    (outside / "secret.yaml").write_text(SCENARIO, encoding="utf-8")
    (root / "link.yaml").symlink_to(outside / "secret.yaml")
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    return root


def _serve(folder: Path, **kwargs: Any) -> Iterator[Running]:
    box: list[Running] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            serve(folder, port=0, ready=box.append, **kwargs)
        except BaseException as exc:  # handed to the test below
            failed.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300  # the first start may compile the engine
    while not box and not failed and time.monotonic() < deadline:
        time.sleep(0.05)
    if failed:
        raise failed[0]
    assert box, "the server did not start"
    try:
        yield box[0]
    finally:
        box[0].stop()
        thread.join(30)


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[Running]:
    _browser_or_skip()
    yield from _serve(folder)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = _browser_or_skip()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


class Page:
    """A browser tab on the workbench: every request it makes is recorded, and any to
    anywhere but the server is aborted; errors in the page are kept."""

    def __init__(self, browser: Any, running: Running, tmp_path: Path) -> None:
        self.base = f"http://127.0.0.1:{running.port}/"
        self.url = self.base + (f"?token={running.token}" if running.token else "")
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.tmp_path = tmp_path
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("websocket", lambda ws: self.requests.append(ws.url))

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith(self.base):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self) -> Page:
        self.page.goto(self.url)
        picker = self.page.locator(".fg-scenario select")
        picker.wait_for(timeout=60_000)
        if picker.input_value() != NAME:
            picker.select_option(NAME)
        self.page.locator(".fg-status", has_text=f"opened {NAME}").wait_for(timeout=60_000)
        return self

    def set(self, css: str, text: str) -> None:
        box = self.page.locator(f"{css} input")
        box.fill(text)
        box.press("Enter")

    def run(self, runs: int, seed: int, done: int) -> None:
        self.set(".fg-runs", str(runs))
        self.set(".fg-seed", str(seed))
        self.page.locator(".fg-run button").click()
        self.wait_done(done, runs)

    def wait_done(self, done: int, runs: int) -> None:
        self.page.locator(".fg-status", has_text=f"done: run {done} ({runs} runs)").wait_for(
            timeout=120_000
        )
        self.show("Results")
        self.page.locator(".fg-headline table tbody tr").first.wait_for(timeout=30_000)

    def text(self, css: str) -> str:
        """The text of an element of the page, with what its shadow roots hold."""
        return self.page.locator(css).first.evaluate(
            """e => {
                const walk = n => (n.shadowRoot ? walk(n.shadowRoot) : "") + [...n.childNodes]
                    .map(c => (c.nodeType === 3 ? c.textContent : walk(c))).join("");
                return walk(e);
            }"""
        )

    def show(self, tab: str) -> None:
        """Bring a tab of the page to the front."""
        self.page.locator(".bk-tab", has_text=tab).first.click()

    def headline(self) -> list[dict[str, str]]:
        """The rows of the headline table as the page shows them."""
        return self.page.locator(".fg-headline table").evaluate(
            """table => {
                const text = c => c.textContent.trim();
                const head = [...table.querySelectorAll("thead th")].map(text);
                return [...table.querySelectorAll("tbody tr")].map(row => Object.fromEntries(
                    [...row.querySelectorAll("td, th")].map((c, i) => [head[i], text(c)])
                ));
            }"""
        )

    def shot(self, name: str) -> None:
        path = self.tmp_path / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        if os.environ.get("FORCEGEN_ARTIFACTS"):
            kept = ROOT / "test-artifacts" / "web"
            kept.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, kept / path.name)

    def close(self) -> None:
        self.context.close()

    def check_clean(self) -> None:
        """Every request went to the app, and no error occurred in the page."""
        assert not self.outside, self.outside
        assert not self.errors, self.errors
        assert self.requests and all(
            u.startswith((self.base, self.base.replace("http", "ws", 1))) for u in self.requests
        )


@pytest.fixture
def tab(browser: Any, server: Running, tmp_path: Path) -> Iterator[Page]:
    page = Page(browser, server, tmp_path).open()
    try:
        yield page
        page.check_clean()
    finally:
        page.close()


def expected(folder: Path, runs: int, seed: int, choice: bool, value: bool) -> list[dict]:
    """The figures forcegen.simulate gives with these settings, as the headline shows them:
    each demand's coverage and each force's people at the end (means over the runs)."""
    scenario = load(folder / NAME, overrides=[f"{VALUE}={TEXT}"] if value else None)
    results = simulate(scenario, runs=runs, seed=seed, choices={CHOICE: OPTION} if choice else {})
    summary = results.summary()
    return [
        {"id": d["id"], "coverage": fmt.percent(d["coverage_mean"])} for d in summary["demands"]
    ] + [{"id": f["force"], "end": fmt.number(f["people_end_mean"])} for f in summary["forces"]]


def shown(rows: list[dict[str, str]]) -> list[dict]:
    return [
        {"id": r["id"], "coverage": r["coverage"]}
        if r["row"] == "demand"
        else {"id": r["id"], "end": r["end"]}
        for r in rows
    ]


# --- the tests -----------------------------------------------------------------------------


def test_a_run_shows_what_simulate_gives_with_the_same_settings(tab: Page, folder: Path) -> None:
    page = tab.page
    tab.shot("1-opened")
    assert "Question" in tab.text(".fg-question")
    page.locator(f".fg-choice-{CHOICE} select").select_option(OPTION)
    tab.set(".fg-value-units_b__strength", TEXT)
    tab.run(runs=12, seed=5, done=1)
    tab.shot("2-run")
    assert shown(tab.headline()) == expected(folder, 12, 5, choice=True, value=True)
    plots = page.locator(".fg-charts .js-plotly-plot")
    assert plots.count() >= 3  # the coverage and strength fans drawn
    drawn = plots.count()
    page.locator(".fg-more-charts .bk-tab", has_text="Losses").first.click()
    # the losses are drawn when their tab is opened
    page.locator(".fg-more-charts .js-plotly-plot").first.wait_for(timeout=30_000)
    assert plots.count() > drawn
    # and the run is not that of the scenario as written
    assert shown(tab.headline()) != expected(folder, 12, 5, choice=False, value=False)


def test_a_scenario_with_an_error_shows_its_located_message(tab: Page) -> None:
    tab.page.locator(".fg-scenario select").select_option("broken.yaml")
    alert = tab.page.locator(".fg-errors", has_text="broken.yaml:4")
    alert.wait_for(timeout=30_000)
    tab.shot("3-error")
    assert "horizon" in tab.text(".fg-errors")
    assert tab.page.locator(".fg-run button").is_disabled()


def test_nothing_outside_the_folder_is_offered_read_or_written(tab: Page, folder: Path) -> None:
    page = tab.page
    options = page.locator(".fg-scenario select").evaluate("e => [...e.options].map(o => o.value)")
    assert options == ["broken.yaml", NAME]  # no link.yaml, nothing under elsewhere/
    tab.run(runs=2, seed=0, done=1)
    outside = folder.parent / "outside"
    before = sorted(p.name for p in outside.iterdir())
    tab.show("Export")
    for name in ("../escaped", "elsewhere/escaped", "/tmp/escaped"):
        tab.set(".fg-export-name", name)
        page.locator(".fg-export-variant button").click()
        message = page.locator(".fg-export-message", has_text="Not written")
        message.wait_for(timeout=30_000)
        assert "outside the folder" in tab.text(".fg-export-message"), name
        tab.page.locator(".fg-errors", has_text="outside the folder").wait_for(timeout=10_000)
        tab.shot("4-outside")
        tab.set(".fg-export-name", "reset")  # the next message is a new one
    assert sorted(p.name for p in outside.iterdir()) == before
    assert not list(folder.glob("escaped*"))


def test_two_tabs_running_at_once_each_see_their_own_figures(
    browser: Any, server: Running, folder: Path, tmp_path: Path
) -> None:
    one, two = Page(browser, server, tmp_path).open(), Page(browser, server, tmp_path).open()
    try:
        one.page.locator(f".fg-choice-{CHOICE} select").select_option(OPTION)
        two.set(".fg-value-units_b__strength", TEXT)
        for tab, seed in ((one, 1), (two, 2)):
            tab.set(".fg-runs", "10")
            tab.set(".fg-seed", str(seed))
        one.page.locator(".fg-run button").click()
        two.page.locator(".fg-run button").click()
        one.wait_done(1, 10)
        two.wait_done(1, 10)
        one.shot("5-tab-one")
        two.shot("5-tab-two")
        assert shown(one.headline()) == expected(folder, 10, 1, choice=True, value=False)
        assert shown(two.headline()) == expected(folder, 10, 2, choice=False, value=True)
        one.check_clean()
        two.check_clean()
    finally:
        one.close()
        two.close()


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_bound_beyond_localhost_the_page_needs_its_token(
    browser: Any, folder: Path, tmp_path: Path
) -> None:
    _browser_or_skip()
    for running in _serve(folder, host="0.0.0.0"):
        assert running.token and running.url.endswith(f"/?token={running.token}")
        assert _get(running.port, "/") == 403
        assert _get(running.port, "/static/js/bokeh.min.js") == 403
        assert _get(running.port, f"/?token={running.token}") == 200
        refused = Page(browser, running, tmp_path)
        try:
            response = refused.page.goto(refused.base)
            assert response is not None and response.status == 403
            refused.shot("6-no-token")
        finally:
            refused.close()
        tab = Page(browser, running, tmp_path).open()  # the scripts and the websocket get in
        try:
            tab.shot("7-with-token")
            tab.check_clean()
        finally:
            tab.close()
