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
time goes, it then times the server's steps of the same run without the browser: the
engine (:func:`forcegen.simulate`), the summary with its answers, the chart descriptions,
and the Plotly figures with the size of their JSON (what goes over the websocket); the
rest of the click-to-drawn time is the page's: sending, Bokeh and Plotly rendering.

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
                setTimeout(() => { observer.disconnect(); resolve([said, end - start, busy]); }, 0);
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

    spent = _timing()

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
    times: list[float] = []
    statuses: list[float] = []  # click to the status saying done
    busies: list[float] = []  # the page's long tasks (scripts, layout, drawing) meanwhile
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
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
                said, drawn, busy = page.evaluate(TIMED_RUN, [n + 2, args.runs])
                busies.append(busy / 1000)
                times.append(drawn / 1000)
                statuses.append(said / 1000)
        finally:
            browser.close()
            running.stop()
            thread.join(30)

    print(f"\nclick to redrawn, {args.runs} runs of {NAME}, {len(times)} times:")
    median = statistics.median(times)
    print(f"  min {min(times):.3f} s   median {median:.3f} s   max {max(times):.3f} s")
    print(f"  the status said done after {statistics.median(statuses):.3f} s (median)")
    print(f"  the page was busy (long tasks: Bokeh, Plotly) {statistics.median(busies):.3f} s")
    for name, seconds in spent.items():
        timed = seconds[-len(times) :]
        print(f"  in the server, {name}: median {statistics.median(timed):.3f} s")
    steps(args.runs)


def _timing() -> dict[str, list[float]]:
    """Time, in the server, the page's run callback, the session's run in it (engine,
    summary, charts) and the drawing of the outcome into the page's panes."""
    from forcegen.web.app import Workbench
    from forcegen.web.session import Session

    spent: dict[str, list[float]] = {}

    def timed(owner: type, attribute: str, name: str) -> None:
        method = getattr(owner, attribute)

        def wrapper(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent.setdefault(name, []).append(time.perf_counter() - start)

        setattr(owner, attribute, wrapper)

    timed(Workbench, "run", "the page's whole run callback")
    timed(Session, "run", "the session's run (engine, summary, charts)")
    timed(Workbench, "_show_outcome", "the outcome put into the page's panes")
    return spent


def steps(runs: int) -> None:
    """Where a run's time goes on the server, without the browser."""
    from forcegen.analysis.answers import with_answers
    from forcegen.api import simulate
    from forcegen.report.interactive import figures
    from forcegen.scenario.loader import load
    from forcegen.web.session import QUANTILES, _charts

    scenario = load(FOLDER / NAME, overrides=[f"{VALUE}=11"])
    simulate(scenario, runs=runs, seed=0)  # warm
    t0 = time.perf_counter()
    results = simulate(scenario, runs=runs, seed=0, n_jobs=2)
    t1 = time.perf_counter()
    with_answers(results.summary(QUANTILES), results, scenario)
    t2 = time.perf_counter()
    charts = _charts(results)
    t3 = time.perf_counter()
    drawn = [f for chart in charts for f in figures(chart)]
    size = len(json.dumps(drawn, default=str))
    t4 = time.perf_counter()
    print("\nthe server's steps of one run (no browser):")
    print(f"  engine {t1 - t0:.3f} s   summary {t2 - t1:.3f} s   charts {t3 - t2:.3f} s")
    print(f"  figures {t4 - t3:.3f} s ({len(drawn)} plots, {size / 1e6:.2f} MB of JSON)")


if __name__ == "__main__":
    main()
