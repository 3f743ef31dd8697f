"""Drive the course's notebooks in JupyterLab in headless Chromium (Playwright): shared by the browser test
(``tests/test_browser.py``) and the benchmark (``scripts/benchmark.py``). Not part of the course.

- ``jupyterlab()`` starts a JupyterLab server on 127.0.0.1 (no token, throwaway root and workspace folders)
  and stops it, kernels included, on exit; ``chromium()`` launches Debian's Chromium.
- ``open_notebook``, ``run_all``, ``error_outputs`` and ``tag_sliders`` open a notebook, run every cell and
  find each slider in an output area and the picture (image widget) under it.
- ``Slider`` moves one slider by keyboard or mouse and measures, in the page, the time from the input event
  to the new picture being decoded and painted (``requestAnimationFrame`` after ``img.decode()``).
- ``Slider.rapid_moves`` makes many fast mouse moves without waiting, then reports how many pictures
  arrived after the last move, how long until the last one was shown, and whether the picture then shown is
  the one for the slider's value.
- ``kernel_rss_mb`` and ``page_memory`` read the kernel's resident memory and the page's JS heap and DOM size.

Failures raise ``LabError`` (an AssertionError) with a message that says what was expected.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
SERVER_START_S = 120
OPEN_S = 180  # page load, kernel start and the "Select Kernel" dialog
CHANGE_S = 20  # one slider move -> a new picture (normally well under a second)
SETTLE_S = 0.3  # the picture counts as settled once its src stays the same this long


class LabError(AssertionError):
    """Something in JupyterLab did not happen as expected (the message says what)."""


def missing() -> str | None:
    """Why the browser cannot be driven here (None if it can). ``COURSE_NO_BROWSER=1`` skips it on purpose
    (the test of the summary line that says so uses it)."""
    if os.environ.get("COURSE_NO_BROWSER"):
        return "COURSE_NO_BROWSER is set"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: no browser to drive"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"the Playwright package cannot be imported ({e})"
    return None


# --- the server and the browser ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and everything it started (kernels included): its whole process group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            pass
    try:  # kernels left behind in the group after the server itself exited
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_kernels(runtime: Path) -> None:
    """Kill kernel processes whose connection file is in `runtime` (Linux /proc; elsewhere nothing)."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(runtime) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


@contextlib.contextmanager
def jupyterlab():
    """Yield (base url, root folder) of a fresh JupyterLab server; stop it and delete its folders on exit."""
    import shutil

    root = Path(tempfile.mkdtemp(prefix="browser_root_"))
    workspaces = Path(tempfile.mkdtemp(prefix="browser_workspaces_"))
    runtime = Path(tempfile.mkdtemp(prefix="browser_runtime_"))  # the kernels' connection files: found by it
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
           f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={workspaces}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = workspaces / "jupyter.log"
    log = open(log_path, "w")
    # The kernels' OpenMP threads sleep instead of spinning while they wait: with another CPU-heavy process on a
    # 2-core machine (a parallel test run), spinning threads slowed lesson 3 down several times over.
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
           "JUPYTER_RUNTIME_DIR": str(runtime)}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"
    local = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never through a proxy
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                local.open(f"{url}/api/status", timeout=5)
                break
            except Exception:
                if proc.poll() is not None:
                    raise LabError(f"jupyter lab exited with code {proc.returncode}:\n"
                                   f"{log_path.read_text()[-3000:]}") from None
                if time.monotonic() > deadline:
                    raise LabError(f"jupyter lab did not answer {url}/api/status within {SERVER_START_S} s:\n"
                                   f"{log_path.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield url, root
    finally:
        _stop(proc)
        _kill_kernels(runtime)  # kernels run in sessions of their own: the server's group does not reach them
        log.close()
        for folder in (root, workspaces, runtime):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def chromium():
    """Yield a headless Chromium (Playwright Browser); closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-gpu",
            "--no-first-run", "--disable-component-update", "--disable-sync"])
        try:
            yield b
        finally:
            b.close()


# --- a notebook in the page -------------------------------------------------------------------------------


def wait_until(fn, timeout: float, what: str, interval: float = 0.25, on_timeout=None):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            detail = on_timeout() if on_timeout else ""
            raise LabError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def kernel_status(page) -> str | None:
    return page.evaluate("""() => {
        const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return k ? k.status : null; }""")


def kernel_id(page) -> str | None:
    return page.evaluate("""() => {
        const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        return k ? k.id : null; }""")


def _accept_dialog(page) -> None:
    """Accept an open JupyterLab dialog: the notebooks carry no kernelspec, so Lab asks 'Select Kernel'."""
    btn = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if btn.count() and btn.first.is_visible():
        btn.first.click()


def run_state(page) -> dict:
    """Code cells in the notebook, how many have run (an execution count), and how many are busy/queued."""
    return page.evaluate("""() => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const code = nb.widgets.filter(c => c.model.type === 'code');
        return {code: code.length,
                done: code.filter(c => c.model.executionCount !== null).length,
                busy: [...document.querySelectorAll('.jp-InputPrompt')]
                      .filter(p => p.textContent.includes('[*]')).length}; }""")


def error_outputs(page) -> list[str]:
    """Texts of error outputs (tracebacks, or stderr text naming an error). textContent, not innerText: cells
    scrolled out of view are not rendered (content-visibility), and innerText would read them as empty."""
    return page.evaluate("""() => [...document.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],' +
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')]
        .map(o => o.textContent)
        .filter(t => t.includes('Traceback') || t.includes('Error'))
        .map(t => t.slice(-1500))""")


def open_notebook(page, url: str, path: str) -> None:
    """Open `path` (relative to the server root) in a workspace of its own and wait for an idle kernel."""
    stem = Path(path).stem
    # a workspace of its own per notebook, so that the tabs of an earlier notebook are not restored
    page.goto(f"{url}/lab/workspaces/{stem}/tree/{path}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=OPEN_S * 1000)

    def ready():
        _accept_dialog(page)
        return kernel_status(page) == "idle"

    wait_until(ready, OPEN_S, f"the kernel of {path} to start",
               on_timeout=lambda: f" (kernel status {kernel_status(page)!r})")


def run_all(page, timeout: float, on_timeout=None) -> float:
    """Run every cell; wait until all have run (or one shows an error). Returns the seconds it took."""
    t0 = time.monotonic()
    # not awaited: the command's promise only resolves once every cell has run, and evaluate has no timeout
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    time.sleep(2)

    def finished():
        _accept_dialog(page)
        if error_outputs(page):
            return True  # run-all stops at an error: no need to wait for the rest
        st = run_state(page)
        return st["busy"] == 0 and st["done"] == st["code"] and kernel_status(page) == "idle"

    wait_until(finished, timeout, "the notebook to run to the end", interval=1.0, on_timeout=on_timeout)
    time.sleep(1.0)  # the last widget views render
    return time.monotonic() - t0


def run_in_kernel(page, code: str) -> None:
    """Execute `code` in the current notebook's kernel (no cell: the notebook is unchanged); wait for it."""
    page.evaluate("""async (code) => {
        const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        const reply = await k.requestExecute({code, silent: false, store_history: false}).done;
        if (reply.content.status !== 'ok') throw new Error(reply.content.ename + ': ' + reply.content.evalue);
    }""", code)


def dismiss_toasts(page) -> None:
    """JupyterLab's 'get notified about official Jupyter news?' toast would cover part of the screenshots."""
    for btn in page.locator(".Toastify__toast button", has_text="No").all():
        try:
            btn.click(timeout=2000)
        except Exception:
            pass


def shutdown_kernels(page) -> None:
    try:  # the next notebook gets the CPU to itself
        page.evaluate("() => window.jupyterapp.serviceManager.sessions.shutdownAll()")
    except Exception:
        pass


def tag_sliders(page) -> list[dict]:
    """Give every slider in an output area, its output area, and the image widget after it data-bt-* marks."""
    return page.evaluate("""() => {
        const outs = [];
        return [...document.querySelectorAll('.jp-OutputArea-output .noUi-target')].map((s, i) => {
            s.setAttribute('data-bt-slider', String(i));
            const out = s.closest('.jp-OutputArea-output');
            if (!outs.includes(out)) { outs.push(out); out.setAttribute('data-bt-out', String(outs.indexOf(out))); }
            const img = [...out.querySelectorAll('img')].find(
                im => s.compareDocumentPosition(im) & Node.DOCUMENT_POSITION_FOLLOWING);
            if (img && !img.hasAttribute('data-bt-img')) img.setAttribute('data-bt-img', String(i));
            const widget = s.closest('.widget-slider');
            const label = widget ? widget.querySelector('.widget-label') : null;
            return {index: i, out: outs.indexOf(out), img: img ? img.getAttribute('data-bt-img') : null,
                    label: label ? label.textContent.trim() : ''};
        }); }""")


# --- memory ----------------------------------------------------------------------------------------------


def kernel_rss_mb(kernel: str | None) -> float | None:
    """Resident memory of the kernel process with this id (Linux /proc), or None where it cannot be read."""
    if not kernel:
        return None
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"kernel-{kernel}.json" in (proc / "cmdline").read_bytes().decode(errors="replace"):
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return None


def page_memory(cdp) -> dict:
    """The page's JS heap (MB, after a garbage collection) and DOM node count, from the Chrome DevTools protocol."""
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {"js_heap_mb": metrics["JSHeapUsedSize"] / 2**20, "dom_nodes": int(metrics["Nodes"])}


# --- one slider --------------------------------------------------------------------------------------------

# In-page probe for one picture: input events (keydown, pointer down/move; the event's own timestamp) and, for
# every new src of the img, the time it changed and the time the decoded picture had been painted (a picture
# that a later src replaced before it was painted is marked shown: null). Times are in ms on the page's
# performance.now() clock.
PROBE_JS = """(sel) => {
    if (window.__probe) window.__probe.stop();
    const img = document.querySelector(sel);
    const p = {inputs: [], pictures: []};
    const rec = e => p.inputs.push(e.timeStamp);  // when the browser received the input (same clock as now())
    const types = ['keydown', 'pointerdown', 'pointermove'];
    for (const type of types) document.addEventListener(type, rec, true);
    // after the paint: the animation frame runs just before it, a message posted from there runs after it
    const afterPaint = f => requestAnimationFrame(() => {
        const ch = new MessageChannel(); ch.port1.onmessage = f; ch.port2.postMessage(null); });
    const obs = new MutationObserver(records => {
        for (const r of records) {
            const t = performance.now(), src = r.target.src, entry = {changed: t, shown: null};
            p.pictures.push(entry);
            img.decode().then(() => afterPaint(() => { if (img.src === src) entry.shown = performance.now(); }),
                              () => {});
        }
    });
    obs.observe(img, {attributes: true, attributeFilter: ['src']});
    p.stop = () => { obs.disconnect(); for (const type of types) document.removeEventListener(type, rec, true); };
    window.__probe = p;
}"""

HASH_JS = """async (sel) => {
    const img = document.querySelector(sel);
    const buf = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', buf);
    return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
}"""


class Slider:
    """One slider in the page (tagged by ``tag_sliders``) and the picture under it."""

    def __init__(self, page, info: dict, name: str) -> None:
        if info["img"] is None:
            raise LabError(f"{name}: no image widget after it in the same output area")
        self.page, self.index, self.name = page, info["index"], name
        self.target = page.locator(f'[data-bt-slider="{self.index}"]')
        self.handle = self.target.locator(".noUi-handle").first
        self.img_sel = f'img[data-bt-img="{info["img"]}"]'
        self.img = page.locator(self.img_sel)
        self.out = page.locator(f'[data-bt-out="{info["out"]}"]')

    # what the page shows
    def src(self) -> str:
        return self.img.get_attribute("src") or ""

    def readout(self) -> str:
        return self.page.evaluate("""(i) => {
            const s = document.querySelector(`[data-bt-slider="${i}"]`);
            const w = s && s.closest('.widget-slider');
            const r = w && w.querySelector('.widget-readout');
            return r ? r.textContent.trim() : ''; }""", self.index)

    def position(self) -> tuple[float, float, float]:
        """(value index now, min, max) from the handle's aria attributes."""
        return tuple(float(self.handle.get_attribute(a) or "nan")
                     for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))

    def picture_hash(self) -> str:
        """SHA-256 of the PNG bytes the image shows now (the same frame gives the same bytes: frames are cached)."""
        return self.page.evaluate(HASH_JS, self.img_sel)

    def wait_changed_and_settled(self, old: str, what: str, settle: float = SETTLE_S) -> str:
        """Wait until the img src differs from `old`, then until it stays put for `settle` s; return it."""
        deadline = time.monotonic() + CHANGE_S
        src = self.src()
        while src == old:
            if time.monotonic() > deadline:
                raise LabError(f"{what}: the picture did not change within {CHANGE_S} s")
            time.sleep(0.02)
            src = self.src()
        return self.wait_settled(what, settle, src)

    def wait_settled(self, what: str, settle: float = SETTLE_S, src: str | None = None) -> str:
        src = self.src() if src is None else src
        deadline = time.monotonic() + 2 * CHANGE_S
        stable_since = time.monotonic()
        while time.monotonic() - stable_since < settle:
            if time.monotonic() > deadline:
                raise LabError(f"{what}: the picture kept changing for {2 * CHANGE_S} s")
            time.sleep(0.03)
            now = self.src()
            if now != src:
                src, stable_since = now, time.monotonic()
        return src

    # moving it
    def track(self) -> tuple[float, float, float]:
        """(left x, right x, y) of the slider's track on screen, scrolled into view."""
        self.target.scroll_into_view_if_needed()
        box = self.target.bounding_box()
        hb = self.handle.bounding_box()
        if not box or not hb:
            raise LabError(f"{self.name}: the slider has no box on screen")
        return box["x"], box["x"] + box["width"], hb["y"] + hb["height"] / 2

    def grab(self) -> None:
        """Press the mouse on the handle's centre (the start of a drag)."""
        self.target.scroll_into_view_if_needed()
        hb = self.handle.bounding_box()
        self.page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
        self.page.mouse.down()

    def _probe(self) -> None:
        self.page.evaluate(PROBE_JS, self.img_sel)

    def _probe_read(self) -> dict:
        return self.page.evaluate("() => ({inputs: window.__probe.inputs, pictures: window.__probe.pictures})")

    def _one_move(self, act, what: str, change_within: float = 3.0) -> float | None:
        """Do `act` (one input); if the value changed, wait for the new picture and return input-to-painted in
        ms (from the last input event before the picture changed); None if the value did not change within
        `change_within` s (a drag step that stays on the same value; a key press that must move passes
        CHANGE_S, so a busy machine's slow frame is waited for, not counted as "did not move")."""
        before_readout, before_src = self.readout(), self.src()
        self._probe()
        act()
        deadline = time.monotonic() + change_within  # the slider handles a move at the next animation frame
        while self.readout() == before_readout:
            if time.monotonic() > deadline:
                self.wait_settled(what)  # a picture the move did cause after all would otherwise leak into
                return None  # the next move's measurement
            time.sleep(0.02)
        self.wait_changed_and_settled(before_src, what)
        deadline = time.monotonic() + CHANGE_S
        while True:  # the after-paint callback comes a frame or so after the src settled
            probe = self._probe_read()
            if probe["pictures"] and probe["pictures"][-1]["shown"] is not None:
                break
            if time.monotonic() > deadline:
                raise LabError(f"{what}: the new picture was never painted ({probe})")
            time.sleep(0.02)
        last = probe["pictures"][-1]
        inputs = [t for t in probe["inputs"] if t <= last["changed"]]
        if not inputs:
            raise LabError(f"{what}: the picture changed before any input event ({probe})")
        return last["shown"] - inputs[-1]

    def key_latencies(self, presses: int, key: str = "ArrowRight") -> list[float]:
        """Press `key` up to `presses` times (each waited for); input-to-shown ms of each press that moved."""
        self.handle.focus()
        out = []
        for k in range(presses):
            ms = self._one_move(lambda: self.handle.press(key), f"{self.name}, {key} #{k + 1}", CHANGE_S)
            if ms is not None:
                out.append(ms)
        return out

    def drag_latencies(self, steps: int, back: bool = True) -> list[float]:
        """Drag the handle from one end of the track to the other (and back) in `steps` mouse moves each way,
        waiting for the picture after each; input-to-shown ms of each move that changed the value."""
        left, right, y = self.track()
        pad = 2.0
        xs = [left + pad + (right - left - 2 * pad) * k / steps for k in range(steps + 1)]
        if back:
            xs += xs[-2::-1]
        self.grab()
        out = []
        try:
            for k, x in enumerate(xs):
                ms = self._one_move(lambda x=x: self.page.mouse.move(x, y), f"{self.name}, drag step {k}")
                if ms is not None:
                    out.append(ms)
        finally:
            self.page.mouse.up()
        return out

    def rapid_moves(self, moves: int = 200, sweeps: float = 4.3) -> dict:
        """`moves` mouse moves back and forth along the track (`sweeps` end-to-end passes) with no waiting.

        Returns: how long the moves took, how many new pictures the page got during them and after the last
        one, ms from the last move to the final picture shown, and whether the final picture is the frame of
        the value the slider then shows (compared by PNG bytes with the frame reached again by keyboard).
        """
        left, right, y = self.track()
        pad = 2.0
        span = right - left - 2 * pad

        def x_at(k: int) -> float:
            phase = (k * 2 * sweeps / moves) % 2  # a triangle wave: 0 -> 1 -> 0 ...
            return left + pad + span * (phase if phase <= 1 else 2 - phase)

        self.grab()
        self._probe()
        t0 = time.monotonic()
        try:
            for k in range(1, moves + 1):
                self.page.mouse.move(x_at(k), y)
        finally:
            self.page.mouse.up()
        moves_s = time.monotonic() - t0
        what = f"{self.name}, after {moves} fast moves"
        self.wait_settled(what, settle=1.0)

        def caught_up():  # the kernel has nothing left to send and the last picture has been painted
            pictures = self._probe_read()["pictures"]
            return kernel_status(self.page) == "idle" and (not pictures or pictures[-1]["shown"] is not None)

        wait_until(caught_up, 2 * CHANGE_S, f"{what}: the kernel to go idle and the last picture to be painted")
        self.wait_settled(what, settle=0.5)
        probe = self._probe_read()
        last_input = max(probe["inputs"]) if probe["inputs"] else float("nan")
        after = [p for p in probe["pictures"] if p["changed"] > last_input]
        shown = [p["shown"] for p in probe["pictures"] if p["shown"] is not None]
        final_readout, final_hash = self.readout(), self.picture_hash()

        # the frame for that value, reached again slowly by keyboard: one step away and back
        now, low, _ = self.position()
        first, second = ("ArrowLeft", "ArrowRight") if now > low else ("ArrowRight", "ArrowLeft")
        self.handle.focus()
        for key in (first, second):
            src = self.src()
            self.handle.press(key)
            self.wait_changed_and_settled(src, f"{self.name}, {key} after the fast moves")
        if self.readout() != final_readout:
            raise LabError(f"{self.name}: one key away and back gave {self.readout()!r}, not {final_readout!r}")
        return {
            "moves": moves,
            "moves_s": moves_s,
            "pictures_during": len(probe["pictures"]) - len(after),
            "pictures_after_last_move": len(after),
            # 0 when the last moves did not change the value (no new picture was needed)
            "last_move_to_final_ms": max(0.0, max(shown) - last_input) if shown else None,
            "final_readout": final_readout,
            "final_picture_matches_value": final_hash == self.picture_hash(),
        }


def summary(ms: list[float]) -> dict:
    return {"n": len(ms), "median_ms": statistics.median(ms) if ms else None, "max_ms": max(ms) if ms else None}
