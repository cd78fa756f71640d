"""Serve the workbench: Panel's server on one address, every request checked first.

:func:`serve` runs the app of :mod:`forcegen.web.app` on the scenarios of one folder, one
fresh session per browser tab. Panel (with Bokeh and Tornado) does the serving; this module
decides who may talk to it:

- It binds 127.0.0.1 unless told otherwise. Bound to any other address it needs a token: one
  is generated (:func:`secrets.token_urlsafe`) unless given, and the URL printed for the user
  carries it (``http://HOST:PORT/?token=...``). The first page that arrives with the right
  token sets a cookie, so that the scripts, styles and websocket the page then asks for are
  let in too; every request with neither the token nor the cookie is refused with 403. Tokens
  are compared with :func:`hmac.compare_digest`. A token given on localhost is enforced too.
- Without a token (localhost only) every request must name the server by a loopback name in
  its ``Host`` header, so that a web page elsewhere cannot reach it through a DNS name that
  it points at 127.0.0.1.
- The websocket (where a session's edits arrive) accepts only pages from the bound address.
- Bokeh's and Panel's JavaScript and styles are served by this server (resources "server"):
  the page needs no network, and fetches nothing from a CDN.

Which files a session may read or write is decided by :class:`forcegen.web.files.Folder`;
this module only hands the folder to the app.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import ipaddress
import logging
import os
import re
import secrets
import signal
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from forcegen.errors import UsageError

if TYPE_CHECKING:
    from tornado.httputil import HTTPHeaders, HTTPServerRequest

DEFAULT_PORT = 5006
"""The port ``forcegen serve`` listens on unless told otherwise (Panel's own default)."""

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
"""Addresses reachable only from this machine: binding them needs no token."""

WILDCARD = frozenset({"0.0.0.0", "::", ""})
"""Addresses that bind every interface of the machine."""

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]{16,256}")
"""A token a user gives: at least 16 characters that need no escaping in a URL or a cookie."""

TITLE = "forcegen workbench"


@dataclass(frozen=True)
class Running:
    """A server that accepts requests, as handed to ``ready``.

    Attributes
    ----------
    url
        The address to open, with the token if there is one.
    host, port
        Where it listens (the port actually bound when 0 was asked for).
    token
        The token every request must carry, or ``None`` on localhost without one.
    stop
        Stops the server; safe to call from any thread. :func:`serve` then returns.
    """

    url: str
    host: str
    port: int
    token: str | None
    stop: Callable[[], None]


def serve(
    folder: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    show: bool = False,
    ready: Callable[[Running], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Serve the workbench on the scenarios of ``folder`` until stopped.

    Parameters
    ----------
    folder
        The folder whose scenarios the page lists; the app reads and writes nothing outside it.
    host
        The address to bind. Any address but 127.0.0.1, localhost or ::1 needs a token.
    port
        The port to listen on; 0 picks a free one.
    token
        The token requests must carry (16 or more of ``A-Z a-z 0-9 . _ ~ -``). Generated when
        the address needs one and none is given; optional on localhost.
    show
        Open the page in the default browser once the server is up.
    ready
        Called with the :class:`Running` server once it accepts requests (to print its URL,
        or, in tests, to keep its ``stop``).
    say
        Called with messages for the person at the terminal (the engine loading, say).

    Raises
    ------
    UsageError
        A folder that does not exist, Panel not installed, a bad token or address, or a
        port in use.
    """
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"{folder}: no such folder (forcegen serve FOLDER serves its scenarios)")
    host, token = checked_address(host, token)
    _need_panel()
    from forcegen.web.app import build

    root = root.resolve()
    if say is not None:
        say("loading the engine (compiling on first use)...")
    warm_up()
    threading.Thread(
        target=warm_scenarios, args=(root, say), name="forcegen-warm-scenarios", daemon=True
    ).start()
    serve_app(
        lambda: build(root), host=host, port=port, token=token, show=show, ready=ready, warm=True
    )


def warm_up() -> None:
    """Open and run a tiny scenario in a session, and draw its charts, so that the engine
    is compiled (or its compiled code loaded) and what a run imports is imported before the
    first page asks for a run."""
    from forcegen.report.interactive import figures
    from forcegen.web.files import Folder
    from forcegen.web.session import Session, Settings

    with tempfile.TemporaryDirectory(prefix="forcegen-warm-up-") as tmp:
        Path(tmp, "warm-up.yaml").write_text(_TINY, encoding="utf-8")
        session = Session(Folder(tmp))
        problems = session.open("warm-up.yaml")
        if problems:  # pragma: no cover - the text above is a valid scenario
            raise RuntimeError(f"the warm-up scenario does not load: {problems[0]}")
        for chart in session.run(Settings(runs=2, seed=0)).charts:
            figures(chart)


def warm_scenarios(folder: Path, say: Callable[[str], None] | None = None) -> list[str]:
    """Compile the engine for every scenario of ``folder``, in the order the page lists them.

    numba compiles the engine once for each set of optional steps (units pulled to demands,
    policy changes, stocks; :func:`forcegen.engine.kernel.kernel_features`): one
    expected-value run of each scenario compiles what it needs, or finds it compiled. The
    server calls this in a thread of its own once :func:`warm_up` has compiled the common
    case, so that the page answers at once while the rest compiles. A scenario that does not
    load is passed over (the page shows its errors when it is opened). ``say`` hears of each
    scenario that needs compiling. Returns the names of the scenarios run.
    """
    from forcegen.api import simulate
    from forcegen.engine import compiling
    from forcegen.errors import ScenarioError
    from forcegen.scenario.loader import load
    from forcegen.web.files import Folder

    files = Folder(folder)
    ran = []
    for name in files.scenarios():

        def told(name: str = name) -> None:
            if say is not None:
                say(f"compiling the engine's steps for {name} (in the background)...")

        try:
            scenario = load(files.path(name))
            with compiling(told):
                simulate(scenario, deterministic=True)
        except (ScenarioError, UsageError, OSError):
            continue
        except Exception as exc:  # noqa: BLE001 - a thread of its own: one line, no traceback
            _log_error(exc)
            continue
        ran.append(name)
    return ran


_TINY = """\
forcegen: 1
name: warm-up
start: 2023-01-01
horizon: 30d
forces: [{id: blue}]
unit_types: [{id: bn}]
locations: [{id: front}, {id: home}]
policies:
  - id: p
    positions:
      - {name: front, location: front, duration: 10d, deployed: true}
      - {name: home, location: home, duration: 10d}
units: [{id: b, force: blue, type: bn, count: 2, strength: 500, policy: p}]
demands: [{id: d, location: front, people: 500, fill: {forces: [blue]}}]
"""


def _need_panel() -> None:
    try:
        import panel  # noqa: F401
    except ModuleNotFoundError:
        raise UsageError(
            "forcegen serve needs Panel, from the 'web' extra: pip install 'forcegen[web]' "
            "(in a checkout: pip install -e '.[web]')"
        ) from None


def serve_app(
    make: Callable[[], Any],
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    show: bool = False,
    ready: Callable[[Running], None] | None = None,
    warm: bool = False,
) -> None:
    """Serve the Panel app that ``make`` builds (once per browser tab) with the checks of
    this module, until stopped; :func:`serve` uses it with the workbench's app.

    ``warm`` builds the app once before the first request, to load what it imports.
    """
    _need_panel()
    import panel as pn
    from panel.io.resources import set_resource_mode
    from panel.io.server import get_server
    from panel.io.state import state
    from tornado.ioloop import IOLoop

    host, token = checked_address(host, token)
    port = _free_port(host, port)
    origins = _origins(host, port)
    gate = Gate(token, None if token else _loopback_hosts(port), port)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    io_loop = IOLoop.current()
    server_id = uuid.uuid4().hex
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if in_main else None
    # The pages' callbacks run on the server's loop, one at a time and in the order their
    # events came (Panel's pool of threads, config.nthreads, would let a click on Run
    # overtake the edit typed just before it). Two tabs' runs therefore take turns; each
    # tab has a session of its own, so neither sees the other's figures.
    handler = pn.config.exception_handler
    pn.config.exception_handler = _log_error
    try:
        with set_resource_mode("server"):
            try:
                server = get_server(
                    _without_tracebacks(make),
                    port=port,
                    address=host or None,
                    websocket_origin=origins,
                    loop=io_loop,
                    show=False,
                    start=False,
                    title=TITLE,
                    warm=warm,
                    server_id=server_id,
                )
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise UsageError(
                        f"port {port} on {host} is in use: choose another with --port "
                        "(0 picks a free one)"
                    ) from None
                raise UsageError(f"cannot listen on {host} port {port}: {exc.strerror}") from None
            # Bokeh keeps its Tornado application in a private attribute (Panel reads it
            # there too); the gate goes in front of every handler it would pick.
            gate.guard(server._tornado)
            server.start()
            running = Running(
                url=_url(host, port, token),
                host=host,
                port=port,
                token=token,
                stop=lambda: io_loop.add_callback(io_loop.stop),
            )
            if show:
                import webbrowser

                io_loop.add_callback(webbrowser.open, running.url)
            if ready is not None:
                io_loop.add_callback(ready, running)
            io_loop.start()
            server.stop(wait=False)
            server.unlisten()
    finally:
        pn.config.exception_handler = handler
        state._servers.pop(server_id, None)
        if in_main:
            signal.signal(signal.SIGINT, previous)
        io_loop.close(all_fds=True)
        asyncio.set_event_loop(None)


def _said(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _log_error(exc: BaseException) -> None:
    """Panel's handler of an error a session's callback left unhandled: one line in the
    log, not a traceback."""
    logging.getLogger("forcegen.web").error("error in the workbench: %s", _said(exc))


def _without_tracebacks(make: Callable[[], Any]) -> Callable[[], Any]:
    """``make``, so that a page that cannot be built shows one line saying why (Panel
    would show the traceback in the page)."""
    import panel as pn

    def page() -> Any:
        try:
            return make()
        except Exception as exc:
            _log_error(exc)
            return pn.pane.Alert(
                f"The workbench could not start: {_said(exc)}", alert_type="danger"
            )

    return page


# --- the gate ------------------------------------------------------------------------------


class Gate:
    """Decides, before any handler of the server runs, whether a request may go on.

    With a token, a request goes on if its query names the token (``?token=...``) or it
    carries the cookie that such a request set. Without one, its ``Host`` header must be a
    loopback name with the server's port. Everything else gets 403.
    """

    def __init__(self, token: str | None, hosts: frozenset[str] | None, port: int) -> None:
        self.token = token.encode() if token else None
        self.hosts = hosts
        self.cookie = f"forcegen_token_{port}"

    def _same(self, given: str | bytes | None) -> bool:
        if given is None or self.token is None:
            return False
        if isinstance(given, str):
            given = given.encode("utf-8", "replace")
        return hmac.compare_digest(given, self.token)

    def query_token(self, request: HTTPServerRequest) -> bool:
        """Whether the request's query carries the right token."""
        return any(self._same(v) for v in request.query_arguments.get("token", []))

    def cookie_token(self, request: HTTPServerRequest) -> bool:
        """Whether the request carries the cookie with the right token."""
        try:
            morsel = request.cookies.get(self.cookie)
        except Exception:  # a malformed Cookie header: as if there were none
            return False
        return morsel is not None and self._same(morsel.value)

    def allows(self, request: HTTPServerRequest) -> bool:
        """Whether the request may reach the app."""
        if self.token is not None:
            return self.query_token(request) or self.cookie_token(request)
        assert self.hosts is not None
        return request.headers.get("Host", "").lower() in self.hosts

    def set_cookie(self, request: HTTPServerRequest) -> str | None:
        """The ``Set-Cookie`` header for a request that brought the token in its query and
        has no cookie for it yet, else ``None``."""
        if self.token is None or not self.query_token(request) or self.cookie_token(request):
            return None
        return f"{self.cookie}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict"

    def guard(self, application: Any) -> None:
        """Put the gate in front of a Tornado application's handlers."""
        from tornado.web import OutputTransform, RequestHandler

        gate = self
        find = application.find_handler

        class Refused(RequestHandler):
            def prepare(self) -> None:
                self.set_status(403)
                self.set_header("Content-Type", "text/plain; charset=utf-8")
                self.finish(
                    "403 forbidden: open the address forcegen serve printed, with its token\n"
                )

        class SetCookie(OutputTransform):
            def __init__(self, request: HTTPServerRequest) -> None:
                self.header = gate.set_cookie(request)

            def transform_first_chunk(
                self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
            ) -> tuple[int, HTTPHeaders, bytes]:
                if self.header is not None:
                    headers.add("Set-Cookie", self.header)
                return status_code, headers, chunk

        def find_handler(request: HTTPServerRequest, **kwargs: Any) -> Any:
            if not gate.allows(request):
                return application.get_handler_delegate(request, Refused)
            return find(request, **kwargs)

        application.find_handler = find_handler
        application.add_transform(SetCookie)


# --- addresses and tokens ------------------------------------------------------------------


def checked_address(host: str, token: str | None) -> tuple[str, str | None]:
    """The address to bind (brackets of an IPv6 address taken off) and the token requests
    must carry: ``token`` checked, or a new one where the address needs one.

    Raises
    ------
    UsageError
        A token with characters a URL would have to escape or too short to guess, or an
        IPv6 address other than ``::1`` or ``::`` (Bokeh cannot name it as a websocket origin).
    """
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if _is_ipv6(host) and host not in LOOPBACK and host not in WILDCARD:
        raise UsageError(
            f"--host {host}: an IPv6 address can be bound only as ::1 or :: (every address); "
            "give a host name or an IPv4 address instead"
        )
    return host, _token_for(host, token)


def _token_for(host: str, token: str | None) -> str | None:
    if token is not None:
        if not TOKEN_PATTERN.fullmatch(token):
            raise UsageError(
                "--token: expected 16 to 256 characters of A-Z a-z 0-9 . _ ~ - "
                "(or leave it out to have one generated)"
            )
        return token
    if host in LOOPBACK:
        return None
    return secrets.token_urlsafe(24)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _free_port(host: str, port: int) -> int:
    """The port to bind: ``port``, or a free one for 0 (the websocket origins name it)."""
    if port:
        return port
    with socket.socket(socket.AF_INET6 if _is_ipv6(host) else socket.AF_INET) as probe:
        probe.bind(("" if host in WILDCARD else host, 0))
        return int(probe.getsockname()[1])


def _loopback_hosts(port: int) -> frozenset[str]:
    return frozenset({f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"})


def _origins(host: str, port: int) -> list[str]:
    """The pages (``host:port``) whose websocket the server accepts: the bound address, and
    for a wildcard bind the names and addresses of this machine."""
    if host in LOOPBACK:
        names = {"localhost", "127.0.0.1"}
    elif host in WILDCARD:
        names = {"localhost", "127.0.0.1", *_machine_names()}
    else:
        names = {host}
    return sorted(f"{name}:{port}" for name in names)


def _machine_names() -> set[str]:
    """This machine's host names and IPv4 addresses, as far as it knows them."""
    names: set[str] = set()
    try:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn(hostname).lower()}
        names |= set(socket.gethostbyname_ex(hostname)[2])
    except OSError:
        pass
    if (address := _outward_address()) is not None:
        names.add(address)
    return {n for n in names if n and ":" not in n}


def _outward_address() -> str | None:
    """The IPv4 address this machine would use to reach other machines (a UDP socket's
    connect sends nothing), or ``None`` without a route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never a real peer
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("0.") else address


def _url(host: str, port: int, token: str | None) -> str:
    if host in WILDCARD:
        shown = _outward_address() or socket.gethostname().lower()
    elif host == "::1":
        shown = "localhost"  # the websocket accepts pages named so (Bokeh cannot name [::1])
    else:
        shown = host
    query = f"?token={quote(token, safe='')}" if token else ""
    return f"http://{shown}:{port}/{query}"
