"""The lessons' sliders in a real browser: JupyterLab in headless Chromium, driven by Playwright.

One JupyterLab server (a throwaway root and workspace directory) serves every notebook. For each solution
notebook: open a (shortened, see ``conftest.fast_copy``) copy, run all cells, wait for the kernel to go idle,
check that no cell shows an error, then move every slider in an output area, first with the keyboard
(ArrowRight) and then by dragging its handle with the mouse, and check each time that the picture under it
(the ``src`` of the nearest following image widget) changes and then settles.

Skipped only when ``/usr/bin/chromium`` is missing or the Playwright package cannot be imported.
Screenshots of each slider's output area, before and after each move, are written to ``$BROWSER_ARTIFACTS``
or else to a fresh temporary directory whose path is printed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import fast_copy

CHROMIUM = Path("/usr/bin/chromium")
SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
NOTEBOOKS = {  # notebook -> number of sliders it shows
    "00_welcome.ipynb": 1,
    "01_picture_to_static.ipynb": 2,
    "02_denoiser.ipynb": 2,
    "03_sampling.ipynb": 4,  # two step sliders, then the DDIM grid's 'steps' and 'eta'
}
SERVER_START_S = 120
OPEN_S = 180  # page load, kernel start and the "Select Kernel" dialog
RUN_ALL_S = 900  # the whole notebook, on a 2-core CPU that may be busy with other tests
CHANGE_S = 20  # one slider move -> a new picture (normally well under a second)
SETTLE_S = 0.3  # the picture counts as settled once its src stays the same this long
ARROW_PRESSES = 3

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: no browser to drive", allow_module_level=True)
try:
    import playwright  # noqa: F401
    from playwright.sync_api import sync_playwright
except ImportError as e:
    pytest.skip(f"the Playwright package cannot be imported ({e})", allow_module_level=True)


# --- the server -------------------------------------------------------------------------------------------


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


def _say(request, text: str) -> None:
    """Print a line even under pytest's output capture."""
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(text)
    else:
        print(text)


@pytest.fixture(scope="module")
def jupyter(request):
    """One JupyterLab server for the module: yields (base url, root dir); stopped at teardown."""
    root = Path(tempfile.mkdtemp(prefix="browser_root_"))
    workspaces = Path(tempfile.mkdtemp(prefix="browser_workspaces_"))
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
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=5)
                break
            except Exception:
                if proc.poll() is not None:
                    pytest.fail(f"jupyter lab exited with code {proc.returncode}:\n{log_path.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer {url}/api/status within {SERVER_START_S} s:\n"
                                f"{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, root
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(workspaces, ignore_errors=True)


@pytest.fixture(scope="module")
def artifacts(request) -> Path:
    where = os.environ.get("BROWSER_ARTIFACTS")
    path = Path(where) if where else Path(tempfile.mkdtemp(prefix="browser_artifacts_"))
    path.mkdir(parents=True, exist_ok=True)
    _say(request, f"\nbrowser screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def browser(jupyter):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-gpu",
            "--no-first-run", "--disable-component-update", "--disable-sync"])
        try:
            yield b
        finally:
            b.close()


# --- page helpers -----------------------------------------------------------------------------------------


def _wait_until(fn, timeout: float, what: str, interval: float = 0.25, on_timeout=None):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            detail = on_timeout() if on_timeout else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def _kernel_status(page) -> str | None:
    return page.evaluate("""() => {
        const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return k ? k.status : null; }""")


def _accept_dialog(page) -> None:
    """Accept an open JupyterLab dialog: the notebooks carry no kernelspec, so Lab asks 'Select Kernel'."""
    btn = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if btn.count() and btn.first.is_visible():
        btn.first.click()


def _run_state(page) -> dict:
    """Code cells in the notebook, how many have run (an execution count), and how many are busy/queued."""
    return page.evaluate("""() => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const code = nb.widgets.filter(c => c.model.type === 'code');
        return {code: code.length,
                done: code.filter(c => c.model.executionCount !== null).length,
                busy: [...document.querySelectorAll('.jp-InputPrompt')]
                      .filter(p => p.textContent.includes('[*]')).length}; }""")


def _error_outputs(page) -> list[str]:
    """Texts of error outputs (tracebacks, or stderr text naming an error). textContent, not innerText: cells
    scrolled out of view are not rendered (content-visibility), and innerText would read them as empty."""
    return page.evaluate("""() => [...document.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],' +
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')]
        .map(o => o.textContent)
        .filter(t => t.includes('Traceback') || t.includes('Error'))
        .map(t => t.slice(-1500))""")


def _tag_sliders(page) -> list[dict]:
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


def _src(img) -> str:
    return img.get_attribute("src") or ""


def _wait_changed_and_settled(img, old: str, what: str) -> str:
    """Wait until the img src differs from `old`, then until it stays put for SETTLE_S; return it."""
    deadline = time.monotonic() + CHANGE_S
    src = _src(img)
    while src == old:
        assert time.monotonic() < deadline, f"{what}: the picture did not change within {CHANGE_S} s"
        time.sleep(0.02)
        src = _src(img)
    stable_since = time.monotonic()
    while time.monotonic() - stable_since < SETTLE_S:
        assert time.monotonic() < deadline + CHANGE_S, f"{what}: the picture kept changing for {CHANGE_S} s"
        time.sleep(0.03)
        now = _src(img)
        if now != src:
            src, stable_since = now, time.monotonic()
    return src


def _readout(page, index: int) -> str:
    return page.evaluate("""(i) => {
        const s = document.querySelector(`[data-bt-slider="${i}"]`);
        const w = s && s.closest('.widget-slider');
        const r = w && w.querySelector('.widget-readout');
        return r ? r.textContent.trim() : ''; }""", index)


def _open(page, url: str, path: str) -> None:
    stem = Path(path).stem
    # a workspace of its own per notebook, so that the tabs of an earlier notebook are not restored
    page.goto(f"{url}/lab/workspaces/{stem}/tree/{path}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=OPEN_S * 1000)

    def ready():
        _accept_dialog(page)
        return _kernel_status(page) == "idle"

    _wait_until(ready, OPEN_S, f"the kernel of {path} to start (status {_kernel_status(page)!r})")


def _dismiss_toasts(page) -> None:
    """JupyterLab's 'get notified about official Jupyter news?' toast would cover part of the screenshots."""
    for btn in page.locator(".Toastify__toast button", has_text="No").all():
        try:
            btn.click(timeout=2000)
        except Exception:
            pass


# --- the test ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", list(NOTEBOOKS))
def test_sliders_move_the_picture_in_jupyterlab(jupyter, browser, artifacts, notebook):
    url, root = jupyter
    stem = notebook.removesuffix(".ipynb")
    folder = root / stem  # a folder per notebook: lesson 3 must not pick up lesson 2's saved model
    folder.mkdir()
    fast_copy(SOLUTIONS / notebook, folder)
    expected = NOTEBOOKS[notebook]

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    try:
        _open(page, url, f"{stem}/{notebook}")
        t0 = time.monotonic()
        # not awaited: the command's promise only resolves once every cell has run, and evaluate has no timeout
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        time.sleep(2)

        def finished():
            _accept_dialog(page)
            if _error_outputs(page):
                return True  # run-all stops at an error: no need to wait for the rest
            st = _run_state(page)
            return st["busy"] == 0 and st["done"] == st["code"] and _kernel_status(page) == "idle"

        def state():
            page.screenshot(path=str(artifacts / f"{stem}_TIMEOUT.png"), full_page=True)
            return f" (cells {_run_state(page)}, kernel {_kernel_status(page)!r}; screenshot {stem}_TIMEOUT.png)"

        _wait_until(finished, RUN_ALL_S, f"{notebook} to run to the end", interval=1.0, on_timeout=state)
        time.sleep(1.0)  # the last widget views render
        run_s = time.monotonic() - t0
        _dismiss_toasts(page)
        page.screenshot(path=str(artifacts / f"{stem}_page_after_run.png"))

        errors = _error_outputs(page)
        assert not errors, f"{notebook}: {len(errors)} cell(s) show an error after run-all:\n" + "\n---\n".join(errors)
        assert page.locator("text=Loading widget").count() == 0, f"{notebook}: a widget did not render"

        _wait_until(lambda: page.locator(".jp-OutputArea-output .noUi-target").count() >= expected, 60,
                    f"{expected} slider(s) in {notebook}'s outputs")
        sliders = _tag_sliders(page)
        assert len(sliders) == expected, (
            f"{notebook}: expected {expected} slider(s) in the outputs, found {len(sliders)}: {sliders}")
        print(f"{notebook}: run-all {run_s:.0f} s, sliders {[s['label'] for s in sliders]}")

        for s in sliders:
            i = s["index"]
            name = f"{notebook} slider {i} ({s['label'] or 'no label'})"
            assert s["img"] is not None, f"{name}: no image widget after it in the same output area"
            target = page.locator(f'[data-bt-slider="{i}"]')
            handle = target.locator(".noUi-handle").first
            img = page.locator(f'img[data-bt-img="{s["img"]}"]')
            out = page.locator(f'[data-bt-out="{s["out"]}"]')
            shot = f"{stem}_slider{i}"

            target.scroll_into_view_if_needed()
            _wait_until(lambda img=img: _src(img) != "", 30, f"{name}: the image to have a src")
            time.sleep(0.2)
            out.screenshot(path=str(artifacts / f"{shot}_0_before.png"))

            # keyboard: ArrowRight a few times (at most to the last value), one picture per press
            start, start_readout = _src(img), _readout(page, i)
            now, top = (float(handle.get_attribute(a) or "nan") for a in ("aria-valuenow", "aria-valuemax"))
            presses = min(ARROW_PRESSES, int(top - now)) if top == top and now == now else ARROW_PRESSES
            assert presses >= 1, f"{name}: the slider starts at its last value ({now} of {top})"
            handle.focus()
            src = start
            for k in range(presses):
                handle.press("ArrowRight")
                what = f"{name}, ArrowRight #{k + 1} (readout {_readout(page, i)!r})"
                src = _wait_changed_and_settled(img, src, what)
            after_keys = _readout(page, i)
            assert src != start, f"{name}: the picture after {presses} x ArrowRight is the first one"
            assert after_keys != start_readout, f"{name}: the readout stayed at {start_readout!r} after the keys"
            out.screenshot(path=str(artifacts / f"{shot}_1_after_keys.png"))

            # mouse: drag the handle over half the track, towards the side with more room
            target.scroll_into_view_if_needed()
            track, hb = target.bounding_box(), handle.bounding_box()
            assert track and hb, f"{name}: the slider has no box on screen"
            x0, y0 = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
            direction = -1 if x0 > track["x"] + track["width"] / 2 else 1
            x1 = x0 + direction * 0.5 * track["width"]
            before_drag, before_readout = _src(img), after_keys
            page.mouse.move(x0, y0)
            page.mouse.down()
            for k in range(1, 11):
                page.mouse.move(x0 + (x1 - x0) * k / 10, y0)
                time.sleep(0.03)
            page.mouse.up()
            src = _wait_changed_and_settled(img, before_drag, f"{name}, mouse drag")
            after_drag = _readout(page, i)
            assert after_drag != before_readout, f"{name}: the readout stayed at {before_readout!r} after the drag"
            out.screenshot(path=str(artifacts / f"{shot}_2_after_drag.png"))
            print(f"  {name}: readout {start_readout!r} -> keys {after_keys!r} -> drag {after_drag!r}")
    finally:
        try:  # stop this notebook's kernel: the next notebook gets the CPU to itself
            page.evaluate("() => window.jupyterapp.serviceManager.sessions.shutdownAll()")
        except Exception:
            pass
        if console:
            print(f"browser console errors ({len(console)}):\n  " + "\n  ".join(console[-10:]))
        context.close()
