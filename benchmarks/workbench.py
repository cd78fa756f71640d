"""The workbench's redraw: from a click on Run to the page showing the new run's charts.

Starts ``forcegen serve`` on ``scenarios/`` (in a thread of this process, on a free port),
opens the page in headless Chromium (Playwright with the system Chromium), picks
``belarus-2023.yaml`` with 200 runs and runs it once to warm up. Then, ``--repeat`` times, it
changes a value (the count of one unit, a new value each time), clicks Run, and times in
the page from the click until the status says the new run is done and every chart the
results show has been drawn again (Plotly's ``plotly_afterplot`` on the charts that stay,
a drawn plot on the ones that are new). The results show the coverage and strength fans;
losses, manpower and reservoirs sit in tabs drawn when opened, so a run with those tabs
closed redraws only the fans. Prints the best, median and worst.

The target is at most 1 s with the server warm, on the 2-core machine. To say where the
time goes, each timed redraw is cut into steps that follow one another (:data:`STEPS`):
the click reaching the server's callback, the callback before the engine, the engine
(:func:`forcegen.simulate`), the charts in sight computed and sent, the rest of what is in
sight (headline, answers, observations, status) computed and sent, and the page's drawing
after the last message reached it; with the bytes and frames the page received (the
server's times are noted in the server, the page's with a script that notes each websocket
message as it arrives). Then it times each part of the server's work on its own, without
the browser.

Run from the repository root::

    python benchmarks/workbench.py                 # 10 redraws of 200 runs
    python benchmarks/workbench.py --repeat 3 --runs 20
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "scenarios"
NAME = "belarus-2023.yaml"
VALUE = "units[by-sof].count"  # the value changed before each run
HOOK = ".fg-value-units_by-sof__count"

# Text of an element with what its shadow roots hold, and the plots under the charts'
# column, however deep in shadow roots Panel puts them.
DEEP = """
window.fgDeep = (root, css, out = []) => {
    if (root.shadowRoot) fgDeep(root.shadowRoot, css, out);
    root.querySelectorAll(css).forEach(e => out.push(e));
    root.querySelectorAll("*").forEach(e => e.shadowRoot && fgDeep(e.shadowRoot, css, out));
    return out;
};
window.fgText = e => (e.shadowRoot ? fgText(e.shadowRoot) : "") + [...e.childNodes]
    .filter(c => c.nodeName !== "STYLE" && c.nodeName !== "SCRIPT")
    .map(c => (c.nodeType === 3 ? c.textContent : fgText(c))).join("");
window.fgPlots = () => fgDeep(document, ".fg-charts").flatMap(c => fgDeep(c, ".js-plotly-plot"));
"""

# Before the page's scripts: note when each websocket message from the server reaches the
# page (its handler is called) and its size, so that the server's sending and the page's
# drawing can be told apart.
FRAMES = """
(() => {
    const Socket = window.WebSocket;
    window.fgFrames = [];
    window.WebSocket = function (...args) {
        const socket = new Socket(...args);
        socket.addEventListener("message", e => {
            const size = typeof e.data === "string" ? e.data.length : e.data.byteLength || 0;
            window.fgFrames.push([Date.now(), size]);
        });
        return socket;
    };
    window.WebSocket.prototype = Socket.prototype;
    Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();
"""

# Click Run and resolve with the milliseconds until the status names run `done` (the server
# has run it and sent the page its changes) and until every chart is drawn after the click.
TIMED_RUN = """
async ([done, runs]) => {
    const old = new Set(fgPlots());
    for (const gd of old) {
        gd.fgAfter = false;
        if (gd.on && !gd.fgListening) {
            gd.on("plotly_afterplot", () => { gd.fgAfter = true; });
            gd.fgListening = true;
        }
    }
    const status = fgDeep(document, ".fg-status")[0];
    const errors = fgDeep(document, ".fg-errors")[0];
    const button = fgDeep(fgDeep(document, ".fg-run")[0], "button")[0];
    const want = `done: run ${done} (${runs} runs)`;
    let said = null, busy = 0;
    const observer = new PerformanceObserver(list => {
        for (const task of list.getEntries()) busy += task.duration;
    });
    observer.observe({ entryTypes: ["longtask"] });
    window.fgClick = Date.now();
    const start = performance.now();
    button.click();
    // Each frame reads the status only (the page's own work is what is timed: a search of
    // the whole page each frame would take its time too); the plots are looked for once
    // the status says the run is done.
    return await new Promise((resolve, reject) => {
        const check = () => {
            const text = fgText(status);
            if (said === null && text.includes(want)) said = performance.now() - start;
            let plots = [];
            const drawn = said !== null && (plots = fgPlots()).length > 0 && plots.every(gd =>
                old.has(gd) ? gd.fgAfter : gd._fullLayout && gd.querySelector(".main-svg"));
            if (drawn) {
                const end = performance.now();
                const at = window.fgClick + (end - start);
                const out = [said, end - start, busy, at];
                setTimeout(() => { observer.disconnect(); resolve(out); }, 0);
            } else if (text.trim() === "error") {
                reject(new Error(fgText(errors)));
            } else if (performance.now() - start > 30000) {
                reject(new Error("no redraw within 30 s: status " + text.trim()));
            } else {
                requestAnimationFrame(check);
            }
        };
        requestAnimationFrame(check);
    });
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="redraws timed")
    parser.add_argument("--runs", type=int, default=200, help="runs of each redraw")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from forcegen.web.server import Running, serve

    spans = _timing()

    box: list[Running] = []
    thread = threading.Thread(
        target=serve, args=(FOLDER,), kwargs={"port": 0, "ready": box.append}, daemon=True
    )
    start = time.perf_counter()
    thread.start()
    while not box:
        if not thread.is_alive():
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    running = box[0]
    print(f"server up in {time.perf_counter() - start:.1f} s (engine warm-up included)")

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    timed: list[dict[str, float]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(FRAMES)
            start = time.perf_counter()
            page.goto(running.url)
            page.add_script_tag(content=DEEP)
            picker = page.locator(".fg-scenario select")
            picker.wait_for(timeout=60_000)
            if picker.input_value() != NAME:
                picker.select_option(NAME)
            page.locator(".fg-status", has_text=f"opened {NAME}").wait_for(timeout=60_000)
            print(f"page open in {time.perf_counter() - start:.1f} s")
            page.locator(".bk-tab", has_text="Results").first.click()
            runs = page.locator(".fg-runs input")
            runs.fill(str(args.runs))
            runs.press("Enter")
            first = page.evaluate(TIMED_RUN, [1, args.runs])[1]
            print(f"first run (warm-up): {first / 1000:.2f} s")
            value = page.locator(f"{HOOK} input")
            base = int(float(value.input_value().replace(",", "")))
            for n in range(args.repeat):
                value.fill(str(base + 1 + n % 5))
                value.press("Enter")
                page.wait_for_timeout(300)  # the edit's round trip is over, as a user's is
                spans.clear()
                page.evaluate("window.fgFrames = []")
                said, drawn, busy, at = page.evaluate(TIMED_RUN, [n + 2, args.runs])
                click = page.evaluate("window.fgClick") / 1000
                frames = page.evaluate("window.fgFrames")
                timed.append(
                    _breakdown(spans, frames, click, at / 1000)
                    | {"total": drawn / 1000, "said": said / 1000, "busy": busy / 1000}
                )
        finally:
            browser.close()
            running.stop()
            thread.join(30)

    def median(key: str) -> float:
        return statistics.median(t[key] for t in timed)

    times = [t["total"] for t in timed]
    print(f"\nclick to redrawn, {args.runs} runs of {NAME}, {len(times)} times:")
    print(f"  min {min(times):.3f} s   median {median('total'):.3f} s   max {max(times):.3f} s")
    print(f"  the status said done after {median('said'):.3f} s (median)")
    print(f"  the page was busy (long tasks: Bokeh, Plotly) {median('busy'):.3f} s (median)")
    print("\nwhere the time goes, from the click (medians; the steps follow one another):")
    for key, what in STEPS:
        print(f"  {median(key):6.3f} s  {what}")
    rest = median("total") - sum(median(k) for k, _ in STEPS)
    print(f"  {rest:6.3f} s  (the medians' sum differs from the median total by this)")
    print(
        f"  the page received {median('bytes') / 1e3:.0f} kB in {median('frames'):.0f} "
        "websocket frames (each binary array is a frame of its own)"
    )
    steps(args.runs)


STEPS = (
    ("to_server", "the click reaching the server's callback (websocket, Bokeh, Panel)"),
    ("before_engine", "the callback before the engine: settings, overrides, validation"),
    ("engine", "the engine: forcegen.simulate (sampling, compiling the plan, the runs)"),
    ("charts", "the charts in sight: descriptions, figures, Panel's updates, sent"),
    ("rest", "the headline, answers and observations, the status: computed, sent"),
    ("page", "the page, after the server's last message: receiving, Bokeh, Plotly"),
)
"""The steps of a redraw, in the order they happen (the page draws the charts while the
server computes the rest)."""


def _breakdown(
    spans: list[tuple[str, float, float]], frames: list[list[float]], click: float, end: float
) -> dict[str, float]:
    """A redraw's steps (:data:`STEPS`) in seconds, from the server's spans (wall-clock
    start and end of each), the page's websocket frames (when its handler got each, in ms
    since the epoch, and its size) and the click and the end of the drawing (seconds since
    the epoch)."""

    def first(name: str) -> tuple[float, float]:
        return next((a, b) for n, a, b in spans if n == name)

    callback = first("callback")
    engine = first("engine")
    shown = first("shown")
    got = [(f[0] / 1000, f[1]) for f in frames if click <= f[0] / 1000 <= end]
    return {
        "to_server": callback[0] - click,
        "before_engine": engine[0] - callback[0],
        "engine": engine[1] - engine[0],
        "charts": shown[0] - engine[1],
        "rest": callback[1] - shown[0],
        "page": end - callback[1],
        "bytes": float(sum(size for _, size in got)),
        "frames": float(len(got)),
    }


def _timing() -> list[tuple[str, float, float]]:
    """Note, in the server, when the page's run callback, the engine (the session's
    simulation) and the drawing of what follows the charts in sight start and end."""
    from forcegen.web.app import Workbench
    from forcegen.web.session import Session

    spans: list[tuple[str, float, float]] = []

    def timed(owner: type, attribute: str, name: str) -> None:
        method = getattr(owner, attribute)

        def wrapper(*args: object, **kwargs: object) -> object:
            start = time.time()
            try:
                return method(*args, **kwargs)
            finally:
                spans.append((name, start, time.time()))

        setattr(owner, attribute, wrapper)

    timed(Workbench, "run", "callback")
    timed(Session, "_simulate", "engine")
    timed(Workbench, "_show_outcome", "shown")
    return spans


def steps(runs: int) -> None:
    """Where a run's time goes on the server, without the browser: each part of the page's
    outcome (:class:`forcegen.web.session.Outcome`) computed on its own, best of three."""
    from forcegen.api import simulate
    from forcegen.scenario.loader import load
    from forcegen.web.app import page_figures
    from forcegen.web.session import Outcome, Settings

    scenario = load(FOLDER / NAME, overrides=[f"{VALUE}=11"])
    simulate(scenario, runs=runs, seed=0)  # warm
    best: dict[str, float] = {}
    size = plots = 0
    for _ in range(3):
        t = time.perf_counter()
        results = simulate(scenario, runs=runs, seed=0, n_jobs=2)
        spent = {"engine": time.perf_counter() - t}
        outcome = Outcome(Settings(runs=runs), results, scenario)
        for part in ("answering", "headline", "answers", "observations", "charts", "summary"):
            t = time.perf_counter()
            getattr(outcome, part)
            spent[part] = time.perf_counter() - t
        t = time.perf_counter()
        drawn = [f for chart in outcome.answering for f in page_figures(chart)]
        spent["figures"] = time.perf_counter() - t
        plots = len(drawn)
        size = sum(
            v.nbytes if hasattr(v, "nbytes") else len(json.dumps(v, default=str))
            for f in drawn
            for trace in f["data"]
            for v in trace.values()
        )
        best = {k: min(v, best.get(k, v)) for k, v in spent.items()}
    print("\nthe server's steps of one run (no browser, best of 3):")
    print(f"  engine (forcegen.simulate, 2 threads)  {best['engine']:.3f} s")
    print(f"  charts in sight (coverage, strength)    {best['answering']:.3f} s")
    print(f"  their figures for the page              {best['figures']:.3f} s", end="")
    print(f" ({plots} plots, {size / 1e3:.0f} kB of traces)")
    print(f"  headline (its part of the summary)      {best['headline']:.3f} s")
    print(f"  answers                                 {best['answers']:.3f} s")
    print(f"  observations                            {best['observations']:.3f} s")
    print("  not waited for: the other charts (tabs) ", end="")
    print(f"{best['charts']:.3f} s, the whole summary (exports) {best['summary']:.3f} s")


if __name__ == "__main__":
    main()
