"""The workbench's server without a browser: the token and host checks on every request,
the addresses and tokens ``forcegen serve`` accepts, and the command's start and stop.

The page itself, driven in Chromium, is tested in test_web_browser.py.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forcegen.cli import app
from forcegen.errors import UsageError

pn = pytest.importorskip("panel", reason="the workbench needs Panel (pip install 'forcegen[web]')")

from forcegen.web import server as server_module  # noqa: E402
from forcegen.web.server import Running, checked_address, serve_app  # noqa: E402


def _page() -> object:
    return pn.pane.Markdown("# a page")


def _started(**kwargs: object) -> Iterator[Running]:
    box: list[Running] = []
    thread = threading.Thread(
        target=serve_app, args=(_page,), kwargs={"port": 0, "ready": box.append, **kwargs}
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not box and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert box, "the server did not start"
    try:
        yield box[0]
    finally:
        box[0].stop()
        thread.join(30)
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def wide() -> Iterator[Running]:
    """A server on every address: it needs its (generated) token."""
    yield from _started(host="0.0.0.0")


@pytest.fixture(scope="module")
def local() -> Iterator[Running]:
    """A server on 127.0.0.1 without a token."""
    yield from _started()


def get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, response.msg
    finally:
        connection.close()


WEBSOCKET = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


def test_beyond_localhost_a_token_is_generated_and_printed_in_the_url(wide: Running) -> None:
    assert wide.token is not None and len(wide.token) >= 32
    assert wide.url.endswith(f":{wide.port}/?token={wide.token}")


def test_beyond_localhost_every_request_without_the_token_is_refused(wide: Running) -> None:
    for path in ("/", "/static/js/bokeh.min.js", "/ws", "/favicon.ico", "/nowhere"):
        assert get(wide.port, path)[0] == 403, path
    assert get(wide.port, "/ws", WEBSOCKET)[0] == 403
    token = wide.token or ""
    assert get(wide.port, "/?token=" + "x" * len(token))[0] == 403
    # one character changed (never to itself: a generated token may start with x)
    wrong = f"forcegen_token_{wide.port}={'y' if token.startswith('x') else 'x'}{token[1:]}"
    assert get(wide.port, "/static/js/bokeh.min.js", {"Cookie": wrong})[0] == 403


def test_the_token_in_the_url_sets_a_cookie_that_lets_the_page_in(wide: Running) -> None:
    status, headers = get(wide.port, f"/?token={wide.token}")
    assert status == 200
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"forcegen_token_{wide.port}={wide.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    pair = cookie.partition(";")[0]
    status, headers = get(wide.port, "/static/js/bokeh.min.js", {"Cookie": pair})
    assert status == 200 and "Set-Cookie" not in headers


def test_on_localhost_requests_must_name_a_loopback_host(local: Running) -> None:
    assert local.token is None and local.url == f"http://127.0.0.1:{local.port}/"
    assert get(local.port, "/")[0] == 200
    assert get(local.port, "/", {"Host": f"localhost:{local.port}"})[0] == 200
    # A page elsewhere reaching the server through its own DNS name (DNS rebinding).
    assert get(local.port, "/", {"Host": f"evil.example:{local.port}"})[0] == 403
    assert get(local.port, "/", {"Host": "127.0.0.1:1"})[0] == 403


def test_a_token_given_on_localhost_is_enforced() -> None:
    token = "a-token-of-my-own-0123"
    for running in _started(token=token):
        assert running.url.endswith(f"/?token={token}")
        assert get(running.port, "/")[0] == 403
        assert get(running.port, f"/?token={token}")[0] == 200


def test_tokens_and_addresses_are_checked() -> None:
    assert checked_address("127.0.0.1", None) == ("127.0.0.1", None)
    assert checked_address("[::1]", None) == ("::1", None)
    host, token = checked_address("0.0.0.0", None)
    assert host == "0.0.0.0" and token is not None
    assert checked_address("192.168.1.5", "t" * 16)[1] == "t" * 16
    for bad in ("short", "x" * 15, "has space in it 123", "semi;colon;0123456789"):
        with pytest.raises(UsageError, match="--token"):
            checked_address("0.0.0.0", bad)
    with pytest.raises(UsageError, match="IPv6"):
        checked_address("fe80::1", None)


def test_websocket_origins_are_the_bound_address() -> None:
    assert server_module._origins("127.0.0.1", 5006) == ["127.0.0.1:5006", "localhost:5006"]
    assert server_module._origins("192.168.1.5", 80) == ["192.168.1.5:80"]
    wide = server_module._origins("0.0.0.0", 5006)
    assert "localhost:5006" in wide and all(o.endswith(":5006") for o in wide)


def test_a_port_in_use_is_a_usage_error(local: Running) -> None:
    with pytest.raises(UsageError, match=f"port {local.port} .* in use"):
        serve_app(_page, port=local.port)


def test_a_page_that_cannot_be_built_says_why_without_a_traceback() -> None:
    def broken() -> object:
        raise ValueError("no page today")

    page = server_module._without_tracebacks(broken)()
    assert isinstance(page, pn.pane.Alert)
    assert "no page today" in page.object and "Traceback" not in page.object


# --- the command ---------------------------------------------------------------------------


def test_serve_refuses_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no such folder" in result.output


def test_serve_refuses_a_bad_token(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", str(tmp_path), "--token", "short"])
    assert result.exit_code == 2 and "--token" in result.output


def test_serve_without_panel_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "panel", None)  # import panel raises ImportError
    result = CliRunner().invoke(app, ["serve", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'forcegen[web]'" in result.output


def test_serve_prints_the_url_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "forcegen.cli", "serve", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = process.stdout.readline().strip() if process.stdout else ""
        assert url.startswith("http://127.0.0.1:") and url.endswith("/"), url
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert get(port, "/")[0] == 200
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "loading the engine (compiling on first use)..." in errors
    assert "Traceback" not in errors and errors.rstrip().endswith("stopped")


def test_the_workbench_has_its_section_in_the_docs_and_a_line_in_the_readme() -> None:
    root = Path(__file__).parents[1]
    analyses = (root / "docs" / "analyses.md").read_text(encoding="utf-8")
    assert "## Workbench (`forcegen serve`)" in analyses
    for said in ("--host", "--port", "--token", "FORCEGEN_TOKEN", "--open/--no-open", "403"):
        assert said in analyses, said
    assert "forcegen serve" in (root / "README.md").read_text(encoding="utf-8")


def test_the_folders_scenarios_are_run_once_each_to_compile_what_they_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import forcegen.api

    (tmp_path / "b.yaml").write_text(server_module._TINY, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text(server_module._TINY, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("forcegen: 1\nname: [\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a scenario", encoding="utf-8")
    runs: list[tuple[str, bool]] = []
    simulate = forcegen.api.simulate

    def counted(scenario: object, **kwargs: object) -> object:
        runs.append((scenario.name, bool(kwargs.get("deterministic"))))  # type: ignore[attr-defined]
        return simulate(scenario, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(forcegen.api, "simulate", counted)
    said: list[str] = []
    ran = server_module.warm_scenarios(tmp_path, said.append)
    assert ran == ["b.yaml", "sub/a.yaml"]  # the broken file passed over, quietly
    assert runs == [("warm-up", True), ("warm-up", True)]  # one expected-value run each
    assert all("in the background" in line for line in said)


def test_a_scenario_that_fails_to_run_is_passed_over_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import forcegen.api

    (tmp_path / "a.yaml").write_text(server_module._TINY, encoding="utf-8")

    def failing(scenario: object, **kwargs: object) -> object:
        raise RuntimeError("out of luck")

    monkeypatch.setattr(forcegen.api, "simulate", failing)
    assert server_module.warm_scenarios(tmp_path) == []
    assert "out of luck" in caplog.text and "Traceback" not in caplog.text
