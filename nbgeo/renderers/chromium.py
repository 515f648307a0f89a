"""Headless Chromium through the DevTools protocol, with no Selenium and no browser download.

nbgeo uses the system's Chromium (Debian's ``chromium`` package, or the
browser named by ``NBGEO_CHROMIUM``) to turn maps into PNG images
(``nbgeo map --png``) and to test pages in a real browser. It talks to the
browser over ``--remote-debugging-pipe`` (JSON messages separated by NUL
bytes on file descriptors 3 and 4), so nothing but the standard library is
needed and no port is opened.

Every page is opened in a fresh profile (a temporary ``--user-data-dir``)
with the browser's own background networking switched off, and every request
the page makes is recorded, so a caller can check that a page loads nothing
from the network.

Examples
--------
>>> from nbgeo.renderers import chromium
>>> isinstance(chromium.find_chromium(), (str, type(None)))
True
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _atomic
from ..errors import MapError
from .html import safe_text

if sys.platform != "win32":  # moving pipe descriptors (POSIX)
    import fcntl

__all__ = ["A4", "Browser", "PageReport", "find_chromium", "print_pdf", "require_chromium", "screenshot"]

log = logging.getLogger(__name__)

#: Flags that keep a headless Chromium quiet and offline apart from what the page itself asks for.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--no-default-browser-check",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
)

#: A4 in inches (width, height), as ``Page.printToPDF`` takes paper sizes.
A4 = (8.27, 11.69)
_MARGIN_SIDE = 0.45  # inches left and right of a printed page

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell")


def _high_fd(fd: int) -> int:
    """Move ``fd`` to a number of at least 10 (closing the original)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


def find_chromium() -> str | None:
    """The Chromium executable to use: ``$NBGEO_CHROMIUM``, else the first on ``PATH``; None if there is none."""
    env = os.environ.get("NBGEO_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in _CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium() -> str:
    """The Chromium executable, or a :class:`~nbgeo.errors.MapError` saying how to install one."""
    exe = find_chromium()
    if not exe:
        msg = ("no Chromium found for headless rendering: install it (Debian/Ubuntu: apt-get install chromium) "
               "or set NBGEO_CHROMIUM to the browser's path")
        raise MapError(msg, code="E-MAP-BROWSER")
    return exe


@dataclass
class PageReport:
    """What happened while a page loaded."""

    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    ready: bool = False

    @property
    def external_requests(self) -> list[str]:
        """Requests other than the page itself and inline ``data:``/``blob:`` URLs."""
        return [u for u in self.requests if u != self.url and not u.startswith(("data:", "blob:", "about:"))]


class Browser:
    """One headless Chromium, driven over a DevTools pipe. Use as a context manager.

    Parameters
    ----------
    executable
        Path of the browser; default :func:`find_chromium`.
    timeout
        Seconds to wait for any one reply from the browser.
    """

    def __init__(self, executable: str | None = None, *, timeout: float = 60.0) -> None:
        exe = executable or require_chromium()
        self.executable = exe
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="nbgeo-chromium-")
        # our end writes to fd 3 of the browser and reads its fd 4
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child's ends must not be fds 3 or 4 themselves, which are overwritten in the child.
        to_browser_r, from_browser_w = (_high_fd(to_browser_r), _high_fd(from_browser_w))
        args = [exe, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe", "about:blank"]

        def _pipes_on_3_and_4() -> None:  # runs in the child between fork and exec
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self._stderr_path = Path(self._profile) / "stderr.log"
        try:
            with open(self._stderr_path, "wb") as stderr:  # a file, not a pipe: Chromium logs a lot
                self._proc = subprocess.Popen(  # fixed argv, no shell
                    # close_fds=False: Python's own fds are non-inheritable (PEP 446), so only the two
                    # pipe ends that dup2 placed on fds 3 and 4 (inheritable) reach the browser.
                    args, close_fds=False, preexec_fn=_pipes_on_3_and_4,  # noqa: PLW1509
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                )
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # -- protocol ---------------------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                msg = f"Chromium did not answer within {self.timeout:.0f} s"
                raise MapError(msg, code="E-MAP-BROWSER")
            ready, _, _ = select.select([self._from_browser], [], [], min(left, 0.5))
            if not ready:
                if self._proc.poll() is not None:
                    err = self._stderr_path.read_text(encoding="utf-8", errors="replace")[-800:]
                    msg = f"Chromium exited with code {self._proc.returncode}: {err.strip()}"
                    raise MapError(msg, code="E-MAP-BROWSER")
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                msg = "Chromium closed the DevTools pipe"
                raise MapError(msg, code="E-MAP-BROWSER")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> dict[str, Any]:
        """Send one DevTools command and wait for its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:  # the browser is gone: say so, not "could not write" of an output
            self._proc.poll()
            err = self._stderr_path.read_text(encoding="utf-8", errors="replace")[-800:].strip()
            msg = f"Chromium ended (exit code {self._proc.returncode}) before it could draw the page: {err or 'no message'}"
            raise MapError(msg, code="E-MAP-BROWSER") from None
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    msg = f"Chromium refused {method}: {reply['error'].get('message')}"
                    raise MapError(msg, code="E-MAP-BROWSER")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if b"\0" not in self._buffer:
                ready, _, _ = select.select([self._from_browser], [], [], left)
                if not ready:
                    return
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    return
                self._buffer += chunk
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if "method" in reply:
                    self._events.append(reply)

    def take_events(self) -> list[dict[str, Any]]:
        """The events received so far (and forget them)."""
        events, self._events = self._events, []
        return events

    # -- pages ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def page(self, width: int = 1600, height: int = 1000) -> Any:
        """A new tab with Page, Runtime, Network and Log events on; yields its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Network", "Log"):
                self.send(f"{domain}.enable", session=session)
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            yield session
        finally:
            with contextlib.suppress(MapError):
                self.send("Target.closeTarget", {"targetId": target})

    def evaluate(self, session: str, expression: str) -> Any:
        """Evaluate a JS expression in the page and return its JSON value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            msg = f"script failed in the page: {text}"
            raise MapError(msg, code="E-MAP-BROWSER")
        return result.get("result", {}).get("value")

    def load(self, session: str, path: str | Path, *, ready: str = "window.nbgeoReady === true",
             timeout: float = 30.0, settle: float = 0.4) -> PageReport:
        """Open a local file, wait until ``ready`` is true in the page, and report requests and errors."""
        url = Path(path).resolve().as_uri()
        report = PageReport(url=url)
        self.take_events()
        self.send("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump(0.1)
            self._collect(report, session)
            with contextlib.suppress(MapError):
                if self.evaluate(session, f"Boolean({ready})"):
                    report.ready = True
                    break
        self.pump(settle)
        self._collect(report, session)
        return report

    def _collect(self, report: PageReport, session: str) -> None:
        for ev in self.take_events():
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Network.requestWillBeSent":
                report.requests.append(params["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                d = params.get("exceptionDetails", {})
                report.errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                report.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                report.errors.append(params["entry"].get("text", "log error"))
            elif method == "Page.javascriptDialogOpening":
                report.dialogs.append(params.get("message", ""))
                with contextlib.suppress(MapError):
                    self.send("Page.handleJavaScriptDialog", {"accept": False}, session=session)

    def print_pdf(self, session: str, *, header: str = "", options: dict[str, Any] | None = None) -> bytes:
        """The loaded page printed as PDF (``Page.printToPDF``): A4, page numbers, ``header`` on every page.

        ``header`` is nbgeo's own markup for the running head (escape any text in it); ``options`` adds to
        or overrides the DevTools parameters.
        """
        small = "font-size:8px;width:100%;color:#57606a;font-family:sans-serif;margin:0 12mm"
        params: dict[str, Any] = {
            "paperWidth": A4[0], "paperHeight": A4[1], "marginTop": 0.75, "marginBottom": 0.65,
            "marginLeft": _MARGIN_SIDE, "marginRight": _MARGIN_SIDE, "printBackground": True, "displayHeaderFooter": True,
            "headerTemplate": f"<div style='{small}'>{header}</div>",
            "footerTemplate": f"<div style='{small};text-align:center'><span class='pageNumber'></span> / "
                              "<span class='totalPages'></span></div>",
            "preferCSSPageSize": False, **(options or {}),
        }
        return base64.b64decode(self.send("Page.printToPDF", params, session=session)["data"])

    def screenshot(self, session: str, *, full_page: bool = False) -> bytes:
        """A PNG of the viewport (or of the whole page)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.send("Page.getLayoutMetrics", session=session)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        data = self.send("Page.captureScreenshot", params, session=session)["data"]
        return base64.b64decode(data)

    # -- lifetime ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the browser and remove its temporary profile."""
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        with contextlib.suppress(OSError):
            os.close(self._to_browser)
        with contextlib.suppress(OSError):
            os.close(self._from_browser)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def screenshot(html: str | Path, png: str | Path | None = None, *, width: int = 1600, height: int = 1000,
               full_page: bool = False, timeout: float = 60.0, overwrite: bool = False) -> bytes:
    """Render a local HTML file in headless Chromium and return (and optionally write) a PNG.

    An existing ``png`` is replaced only with ``overwrite=True`` (``E-IO-EXISTS``).

    Raises
    ------
    MapError
        When no browser is installed, or the page does not finish drawing within ``timeout``.
    """
    with Browser(timeout=timeout) as browser, browser.page(width, height) as session:
        report = browser.load(session, html, timeout=timeout)
        if not report.ready:
            msg = f"the page {str(html)!r} did not finish drawing within {timeout:.0f} s; errors: {report.errors[:3]}"
            raise MapError(msg, code="E-MAP-BROWSER")
        # a picture cannot scroll: nbgeo's maps lay their whole legend out inside it (map.js imageMode)
        browser.evaluate(session, "window.nbgeo && nbgeo.imageMode ? nbgeo.imageMode() : null")
        browser.pump(0.2)
        data = browser.screenshot(session, full_page=full_page)
    if png is not None:
        _atomic.write_bytes(png, data, overwrite=overwrite)
    return data


# Each map of the page as a picture for print: Leaflet's panes do not print reliably (tiles and vectors are
# split across pages, and controls overlap), so the drawn map is captured on screen and an <img> of it is put
# after the map element, which the print stylesheet hides while showing the picture.
# Each map is captured as a still image (map.js imageMode): with its whole legend in a band under it, and
# without the page's sticky navigation bar over its top.
_MAP_BOXES = """JSON.stringify(((window.nbgeo && nbgeo.imageMode) ? nbgeo.imageMode() : null,
  document.querySelectorAll('nav').forEach(n => { n.style.position = 'static'; }), [
  ...document.querySelectorAll('.nb-embed')]).map(e => {
  e = e.closest('.nb-mapfig') || e; e.scrollIntoView(); const r = e.getBoundingClientRect();
  return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; }))"""
_PAGE_READY = ("document.readyState === 'complete' && (!document.querySelector('.nb-embed') || "
               "window.nbgeoReady === true)")


def _fit_scale(browser: Browser, session: str) -> float:
    """The print scale (at most 1) at which the page's widest table fits the width of an A4 page.

    The page is laid out with its print stylesheet at the printable width; content wider than that would be
    cut off at the page's edge, so the whole page is printed smaller instead.
    """
    printable = round((A4[0] - 2 * _MARGIN_SIDE) * 96)  # CSS pixels are 1/96 inch
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": printable, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=session)
    wide = float(browser.evaluate(session, "document.documentElement.scrollWidth") or printable)
    return max(0.1, min(1.0, int(100 * printable / wide) / 100))


def print_pdf(html: str | Path, pdf: str | Path | None = None, *, timeout: float = 120.0, width: int = 1200,
              overwrite: bool = False) -> bytes:
    """Print a local nbgeo page to PDF in headless Chromium and return (and optionally write) the PDF.

    The page is printed with its print stylesheet (:data:`nbgeo.renderers.theme.PAGE_CSS`): A4, the navigation
    hidden, every ``<details>`` open, table rows kept whole and table headings repeated; the running head on
    every page is the page's title and verdict, the foot its page number of the total. Each map is printed as
    a picture of the map as drawn on screen (``width`` pixels wide).

    Raises
    ------
    MapError
        When no browser is installed (``E-MAP-BROWSER``, saying how to install one), or the page does not
        finish drawing within ``timeout``.
    """
    with Browser(timeout=timeout) as browser, browser.page(width, 1000) as session:
        report = browser.load(session, html, ready=_PAGE_READY, timeout=timeout)
        if not report.ready:
            msg = f"the page {str(html)!r} did not finish drawing within {timeout:.0f} s; errors: {report.errors[:3]}"
            raise MapError(msg, code="E-MAP-BROWSER")
        boxes = json.loads(browser.evaluate(session, _MAP_BOXES))
        browser.pump(0.5)  # let the maps redraw after scrolling to them
        for i, (x, y, w, h) in enumerate(boxes):
            shot = browser.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": x, "y": y, "width": w, "height": h, "scale": 1}}, session=session)["data"]
            browser.evaluate(session, f"""(() => {{ const e = document.querySelectorAll('.nb-embed')[{i}];
                const img = document.createElement('img'); img.className = 'nb-print-map';
                img.src = 'data:image/png;base64,' + {json.dumps(shot)}; e.after(img);
                return img.decode(); }})()""")
        browser.evaluate(session, "document.querySelectorAll('details').forEach(d => { d.open = true; })")
        title = browser.evaluate(session, "document.title") or ""
        verdict = browser.evaluate(session, "(document.querySelector('header .verdict') || {}).innerText || ''")
        header = safe_text(title) + (f" · {safe_text(verdict)}" if verdict else "")
        data = browser.print_pdf(session, header=header, options={"scale": _fit_scale(browser, session)})
    if pdf is not None:
        _atomic.write_bytes(pdf, data, overwrite=overwrite)
    return data
