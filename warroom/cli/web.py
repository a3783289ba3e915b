"""``warroom web``: the console in a browser, only for people who were given the link.

Every browser that connects starts a console process as the user who ran ``warroom web``,
with her data and her sync token. So nothing starts without a secret:

* each launch makes a key (``secrets.token_urlsafe``) and prints the link that carries it;
  opening that link sets a session cookie (HttpOnly, SameSite=Strict) and drops the key from
  the address bar. A ``web_password`` in the config lets people sign in with it instead
  (a wrong one is answered a second later, to slow guessing);
* the page, the websocket that starts a console and the downloads all need the cookie; the
  websocket also refuses another site's page (its ``Origin``), so a page elsewhere cannot
  drive a console through the user's browser;
* it binds 127.0.0.1 unless told otherwise; behind the team's reverse proxy, pass
  ``--public-url`` and keep the proxy's own authentication.

Consoles end with their browser: when the websocket closes the console is asked to quit,
then its whole process group is terminated (killed if it lingers). When ``warroom web``
stops, every console is ended the same way, and a console whose ``warroom web`` was killed
outright gets SIGTERM from the kernel (Linux: ``PR_SET_PDEATHSIG``), so none is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hmac
import logging
import os
import secrets
import signal
import sys
from hashlib import sha256
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

log = logging.getLogger("warroom.web")

COOKIE = "warroom_web"
QUIT_GRACE = 3.0
"""Seconds a console has to quit when asked, before its process group is terminated."""
KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL."""
WRONG_PASSWORD_DELAY = 1.0

try:  # loaded here, in the parent: the child may only call it between fork and exec
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """In the console's process, before exec: SIGTERM when ``warroom web`` dies."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Console(AppService):
    """One browser's console: ``argv`` in its own process group, ended with its browser."""

    def __init__(self, argv: list[str], **kwargs) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv

    async def _open_app_process(self, width: int = 80, height: int = 24):
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
            preexec_fn=_end_with_parent,
        )
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def stop(self) -> None:
        """Ask the console to quit; end its process group if it has not within QUIT_GRACE."""
        try:
            await asyncio.wait_for(super().stop(), QUIT_GRACE)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass
        finally:
            await self.end()

    async def end(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        for sig, grace in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), grace)
                return
            except TimeoutError:
                continue


class GuardedServer(Server):
    """textual-serve's server, with the key, the cookie, the origin check and console ends."""

    def __init__(self, argv: list[str], *, host: str, port: int, public_url: str | None, password: str | None) -> None:
        super().__init__(" ".join(argv), host=host, port=port, title="warroom", public_url=public_url)
        self.argv = argv
        self.key = secrets.token_urlsafe(24)
        self.password = password
        self._session = hmac.new(self.key.encode(), b"warroom web session", sha256).hexdigest()
        self.consoles: set[Console] = set()
        self.secure = self.public_url.startswith("https://")

    @property
    def link(self) -> str:
        return f"{self.public_url}/?key={self.key}"

    def initialize_logging(self) -> None:
        logging.basicConfig(level=logging.WARNING, format="warroom web: %(message)s")

    async def on_startup(self, app: web.Application) -> None:
        lines = [f"warroom web: open {self.link}"]
        if self.password:
            lines.append("  (or sign in there with the web password from your config)")
        lines.append("  Anyone with this link can use your console, as you: share it like a password.")
        if urlsplit(self.public_url).hostname not in ("127.0.0.1", "localhost", "::1") and not self.secure:
            lines.append("  This is not loopback and not https: put it behind the team's TLS proxy.")
        lines.append("  Ctrl+C to stop (every console it started ends with it).")
        print("\n".join(lines), file=sys.stderr, flush=True)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.router.add_post("/login", self.handle_login, name="login")
        app.on_shutdown.append(self._end_consoles)
        return app

    # --- who may come in ---------------------------------------------------------------------

    def _signed_in(self, request: web.Request) -> bool:
        return hmac.compare_digest(request.cookies.get(COOKIE, ""), self._session)

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:  # not a browser: it would need the cookie anyway
            return True
        allowed = {f"{scheme}://{request.host}" for scheme in ("http", "https")}
        public = urlsplit(self.public_url)
        allowed.add(f"{public.scheme}://{public.netloc}")
        return origin in allowed

    def _let_in(self) -> web.HTTPFound:
        """Redirect to the page, with the session cookie and without the key in the URL."""
        response = web.HTTPFound("/")
        response.set_cookie(COOKIE, self._session, httponly=True, samesite="Strict", secure=self.secure, path="/")
        return response

    def _refusal(self, status: int, message: str) -> web.Response:
        form = ""
        if self.password:
            form = (
                '<form method="post" action="/login"><label>Web password '
                '<input type="password" name="password" autofocus></label> '
                '<button type="submit">Sign in</button></form>'
            )
        body = (
            "<!doctype html><title>warroom</title><h1>warroom</h1>"
            f"<p>{message}</p>{form}"
        )
        return web.Response(
            status=status, text=body, content_type="text/html",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("key")
        if key is not None:
            if hmac.compare_digest(key.encode(), self.key.encode()):
                raise self._let_in()
            log.warning("refused a link with a wrong key")
            return self._refusal(403, "This link's key is not the one warroom web printed at its start (it changes every launch).")
        if not self._signed_in(request):
            return self._refusal(401, "Open the link that warroom web printed when it started.")
        response = await super().handle_index(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def handle_login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        given = str(form.get("password", ""))
        if self.password and hmac.compare_digest(given.encode(), self.password.encode()):
            raise self._let_in()
        log.warning("refused a wrong web password")
        await asyncio.sleep(WRONG_PASSWORD_DELAY)
        return self._refusal(401, "That is not the web password.")

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        if not self._signed_in(request):
            raise web.HTTPForbidden(text="sign in first")
        return await super().handle_download(request)

    # --- consoles ----------------------------------------------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._signed_in(request) or not self._same_origin(request):
            log.warning("refused a console to a browser without the session (or from another site)")
            raise web.HTTPForbidden(text="open the link warroom web printed")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        console: Console | None = None
        try:
            await websocket.prepare(request)
            console = Console(
                self.argv,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.consoles.add(console)
            await console.start(width, height)
            await self._process_messages(websocket, console)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("the console failed")
        finally:
            if console is not None:
                await asyncio.shield(console.stop())
                self.consoles.discard(console)
        return websocket

    async def _end_consoles(self, _app: web.Application) -> None:
        await asyncio.gather(*(console.end() for console in list(self.consoles)), return_exceptions=True)


def serve(argv: list[str], *, host: str, port: int, public_url: str | None, password: str | None) -> None:
    """Run ``warroom web`` until Ctrl+C / SIGTERM."""
    GuardedServer(argv, host=host, port=port, public_url=public_url, password=password).serve()
