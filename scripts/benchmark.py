"""Measure the course on this machine: each notebook's runtime from a fresh kernel, and slider speed.

    python scripts/benchmark.py                 # everything; writes benchmarks/results.md (about 15 minutes)
    python scripts/benchmark.py --update-docs   # and copies the tables into docs/measurements.md
    python scripts/benchmark.py --only-browser  # only the browser part (about 5 minutes)
    python scripts/benchmark.py --unet-compare  # and the course U-Net against diffusers' UNet2DModel (+5 minutes)

What it measures:
- notebook runtime: every code cell of the solution notebook, in a fresh kernel, wall clock;
- kernel peak memory (max RSS of the kernel process, from inside it) after the notebook ran;
- slider update: in the kernel that ran the lesson, the time from setting a slider's value to the new
  PNG being in the Image widget (what is then sent to the browser), over a drag across every frame,
  forwards and back: median and worst case. Also the uncached render time per frame, which is what
  precomputing saves.
- slider update in the browser (needs Debian's Chromium and the Playwright package, as the browser test does;
  skipped with the reason otherwise): JupyterLab in headless Chromium, each lesson (shortened training, as in
  the tests) run all, then for each slider the time from the input event (a key press, or one mouse move of
  a drag end to end and back) to the new picture decoded and painted, median and worst case; then 3 rounds
  of 200 fast mouse moves without waiting: pictures the page got during and after the moves, the time from
  the last move to the final picture, whether that picture is the frame of the value shown, and the
  kernel's resident memory and the page's JS heap and DOM size before and after each round. Lesson 0's
  slider once more with the kernel's handler slowed to 50 ms per move (slower than the moves come).
  A lesson that fails in the browser is reported in the table and the others still run.
- with --unet-compare: the course's U-Net against diffusers' UNet2DModel of about the same size, same loop,
  same data, same seconds of training each, held-out loss and Lesson 3's sample metrics
  (scripts/unet_side_by_side.py, which also runs alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # lab_driver (the browser test's page driver) and conftest.fast_copy

from course_utils.exercises import solution_notebooks  # noqa: E402

SLIDERS = {
    "00_welcome.ipynb": ["slider"],
    "01_picture_to_static.ipynb": ["slider", "digit_slider"],
    "02_denoiser.ipynb": ["points_slider", "digit_slider"],
    "03_sampling.ipynb": ["run_slider", "points_slider"],
    "04_static_to_picture.ipynb": ["run_slider", "sdedit_slider"],
    "05_asking_for_a_picture.ipynb": ["guide_slider"],
}
SLIDERS["06_straight_paths.ipynb"] = ["evals_view"]
# Numbers a lesson computes that the benchmark reports: name -> expression evaluated in its kernel.
EXTRAS = {
    "05_asking_for_a_picture.ipynb": {
        "conditional digits training (s)": "round(digit_hist.seconds, 1) if digit_hist else None",
        "conditional digits training steps": "DIGIT_STEPS",
        "held-out loss with labels, trained in the lesson": "round(yours, 4)",
        "held-out loss with labels, shipped digits_cond": "round(theirs, 4)",
        "points training (s)": "round(point_hist.seconds, 1)",
        "guidance table (s)": "round(table_seconds, 1)",
        "accuracy at w = 3 (mean over digits)": "round(mean_over_labels('accuracy', 3), 3)",
    },
    "04_static_to_picture.ipynb": {
        "blur-to-static training (s)": "round(blur_hist.seconds, 1) if TRAIN_BLUR else None",
        "blur-to-static training steps": "BLUR_STEPS",
        "held-out loss, trained in the lesson": "round(yours, 4)",
        "held-out loss, shipped digits_blur": "round(theirs, 4)",
    },
    "02_denoiser.ipynb": {
        "digits training (s)": "round(digit_hist.seconds, 1) if digit_hist else None",
        "digits training steps": "DIGIT_STEPS",
        "held-out loss, trained in the lesson": "round(yours, 4)",
        "held-out loss, shipped checkpoint": "round(theirs, 4)",
        "points training (s)": "round(point_hist.seconds, 1)",
        "points held-out loss": "round(loss_with_t, 4)",
    },
}
EXTRAS["06_straight_paths.ipynb"] = {
    "flow-matching training (s)": "round(flow_hist.seconds, 1) if flow_hist else None",
    "flow-matching training steps": "FLOW_STEPS",
    "held-out loss, trained in the lesson": "round(yours, 4)",
    "held-out loss, shipped digits_flow": "round(theirs, 4)",
    "Frechet at 4 evaluations (DDIM, Euler, Heun)": "[round(fd[n][4], 2) for n in fd]",
    "Frechet at 8 evaluations (DDIM, Euler, Heun)": "[round(fd[n][8], 2) for n in fd]",
}
# Lesson 7 (kept apart from the dicts above, so that lessons added in parallel merge cleanly)
SLIDERS["07_crayons_from_words.ipynb"] = ["journey_slider"]
EXTRAS["07_crayons_from_words.ipynb"] = {
    "crayons training (s)": "round(crayon_hist.seconds, 1) if crayon_hist else None",
    "crayons training steps": "CRAYON_STEPS",
    "held-out loss with prompts, trained in the lesson": "round(yours, 4)",
    "held-out loss with prompts, shipped crayons": "round(theirs, 4)",
    "seen/unseen table (s)": "round(table_seconds, 1)",
    "right colour and object, seen pairs": "round(s['seen']['both'], 3)",
    "right colour and object, unseen pairs": "round(s['unseen']['both'], 3)",
    "right colour and object, red/yellow/green/blue on every object": "round(done_when, 3)",
    "lesson (s)": "round(lesson_seconds, 1)",
}
# Lesson 8: its sliders are live views (IntSlider/FloatSlider), not cached frames: timed by the lesson's own cells
SLIDERS["08_your_drawing.ipynb"] = ["bit_by_bit"]
EXTRAS["08_your_drawing.ipynb"] = {
    "settle steps (of 20), blur to static, coarse/middle/fine":
        "[round(float(v), 1) for v in settle['blur to static'].mean(0)]",
    "settle steps (of 20), static only, coarse/middle/fine":
        "[round(float(v), 1) for v in settle['static only'].mean(0)]",
    "crossovers by strength": "crossover",
    "lesson (s)": "round(lesson_seconds, 1)",
}

TIMING_CODE = """
import time as _t, json as _j, statistics as _s
def _drag(s):
    opts = list(s.slider.options)
    path = opts + opts[::-1]
    times = []
    for v in path:
        t0 = _t.perf_counter(); s.slider.value = v; _ = s.image.value; times.append(_t.perf_counter() - t0)
    fresh = []
    for v in opts[:: max(1, len(opts) // 10)]:
        t0 = _t.perf_counter(); s.render(v); fresh.append(_t.perf_counter() - t0)
    return {"moves": len(path), "median_ms": 1000 * _s.median(times), "max_ms": 1000 * max(times),
            "render_ms": 1000 * _s.median(fresh), "frames": len(opts)}
_bench = _j.dumps({name: _drag(globals()[name]) for name in NAMES})
"""


def kernel_peak_mb(kc) -> float:
    code = ("import resource, sys; _peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss"
            " / (1024 if sys.platform != 'darwin' else 1024**2)")  # ru_maxrss: KiB on Linux, bytes on macOS
    reply = kc.execute_interactive(code, user_expressions={"p": "_peak"}, timeout=60, output_hook=lambda m: None)
    return float(reply["content"]["user_expressions"]["p"]["data"]["text/plain"])


def run_notebook(path: Path, sliders: list[str]) -> dict:
    import nbformat
    from jupyter_client.manager import start_new_kernel

    nb = nbformat.read(path, as_version=4)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(path.parent))
    try:
        t0 = time.perf_counter()
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            reply = kc.execute_interactive(cell.source, timeout=1200, output_hook=lambda m: None)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{path.name} cell {i}: {reply['content'].get('evalue')}")
        runtime = time.perf_counter() - t0
        peak = kernel_peak_mb(kc)
        out = {"runtime_s": runtime, "peak_mb": peak, "sliders": {}, "extras": {}}
        for label, expr in EXTRAS.get(path.name, {}).items():
            reply = kc.execute_interactive("", user_expressions={"v": expr}, timeout=60, output_hook=lambda m: None)
            value = reply["content"]["user_expressions"]["v"]
            out["extras"][label] = value["data"]["text/plain"] if value["status"] == "ok" else "error"
        if sliders:
            code = f"NAMES = {sliders!r}\n" + TIMING_CODE
            reply = kc.execute_interactive(code, user_expressions={"b": "_bench"}, timeout=600,
                                           output_hook=lambda m: None)
            text = reply["content"]["user_expressions"]["b"]["data"]["text/plain"]
            out["sliders"] = json.loads(eval(text))  # a repr of a JSON string
        return out
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def sampler_table(n: int = 500) -> list[str]:
    """Quality against steps against time for the shipped checkpoint and the one Lesson 2 trained here."""
    import torch

    import course_utils as cu
    from course_utils.ddim import DDIMScheduler
    from course_utils.metrics import digit_metrics
    from course_utils.sampling import sample

    test = cu.load_digits(split="test")
    lines = [f"Sampler table ({n} samples each, Frechet distance / precision / recall against the 180 held-out "
             "digits in the classifier's feature space; lower Frechet is better). One seed, Lesson 3's metric, before "
             "review part 3: that metric moves by about 0.12 between seeds here and squeezes real differences into "
             "tenths, so it does not rank these samplers; the stroke metric with a spread over seeds does, in "
             "[docs/sampler-tables.md](sampler-tables.md):", "",  # a link relative to docs/measurements.md
             "| model | sampler | time for the samples | Frechet | precision | recall | classes, min / max share |",
             "|---|---|---|---|---|---|---|"]

    def row(model_name, sampler_name, seconds, m):
        shares = [m[f"class_{c}"] for c in range(10)]
        secs = f"{seconds:.2f} s" if seconds == seconds else "-"
        lines.append(f"| {model_name} | {sampler_name} | {secs} | {m['frechet']:.2f} | {m['precision']:.2f} | "
                     f"{m['recall']:.2f} | {min(shares):.1%} / {max(shares):.1%} |")

    models = [("shipped checkpoint", cu.load_checkpoint("digits"))]
    mine = ROOT / "notebooks" / "solutions" / "runs" / "digits_unet.safetensors"
    if mine.exists():
        models.append(("Lesson 2's model, trained here", cu.load_checkpoint(mine)))
    for model_name, model in models:
        for name, steps in [("DDPM", 1000), ("DDIM", 100), ("DDIM", 50), ("DDIM", 25), ("DDIM", 10)]:
            if model_name != "shipped checkpoint" and steps not in (1000, 50):
                continue
            sched = (cu.NoiseScheduler if name == "DDPM" else DDIMScheduler)(1000, beta_schedule="cosine")
            sched.set_timesteps(steps)
            tic = time.perf_counter()
            x = sample(model, sched, n, generator=torch.Generator().manual_seed(10), progress=False)
            row(model_name, f"{name} {steps} steps", time.perf_counter() - tic, digit_metrics(x.clamp(-1, 1), test))
    row("reference: real training digits", "-", float("nan"), digit_metrics(cu.load_digits(split="train")[:n], test))
    noise = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    row("reference: uniform noise", "-", float("nan"), digit_metrics(noise, test))
    ddim = DDIMScheduler(1000, beta_schedule="cosine")
    ddim.set_timesteps(50)
    model = models[0][1]
    times = []
    for i in range(7):
        tic = time.perf_counter()
        sample(model, ddim, 64, generator=torch.Generator().manual_seed(i), progress=False)
        times.append(time.perf_counter() - tic)
    lines += ["", f"64 digits with DDIM 50 steps: median {statistics.median(times):.2f} s over 7 runs "
                  f"(worst {max(times):.2f} s)."]
    return lines


BROWSER_KEYS = 10  # ArrowRight presses, each waited for
BROWSER_DRAG_STEPS = 20  # mouse moves per end-to-end pass of the drag (there and back)
FAST_ROUNDS = 3  # rounds of 200 fast moves, memory read after each


def browser_benchmark() -> tuple[dict, list[str]]:
    """Slider timings and memory in JupyterLab + headless Chromium; (results, markdown lines)."""
    import lab_driver as lab
    from conftest import fast_copy

    why = lab.missing()
    if why is not None:
        return {"skipped": why}, [f"Browser measurements skipped: {why}."]
    results: dict = {}
    with lab.jupyterlab() as (url, root), lab.chromium() as browser:
        for path in solution_notebooks():
            print(f"browser: {path.name} ...", flush=True)
            folder = root / path.stem
            folder.mkdir()
            fast_copy(path, folder)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            try:
                lab.open_notebook(page, url, f"{path.stem}/{path.name}")
                run_s = lab.run_all(page, 1200)
                if lab.error_outputs(page):
                    raise RuntimeError(f"{path.name}: a cell failed in the browser: {lab.error_outputs(page)[0]}")
                lab.dismiss_toasts(page)
                kernel = lab.kernel_id(page)
                nb = {"run_all_s": run_s, "sliders": []}
                for info in lab.tag_sliders(page):
                    s = lab.Slider(page, info, f"{path.name} slider {info['index']}")
                    lab.wait_until(lambda s=s: s.src() != "", 30, "the image to have a src")
                    keys = s.key_latencies(BROWSER_KEYS)
                    drag = s.drag_latencies(BROWSER_DRAG_STEPS)
                    memory = [{"kernel_rss_mb": lab.kernel_rss_mb(kernel), **lab.page_memory(cdp)}]
                    rounds = []
                    for _ in range(FAST_ROUNDS):
                        rounds.append(s.rapid_moves(200))
                        memory.append({"kernel_rss_mb": lab.kernel_rss_mb(kernel), **lab.page_memory(cdp)})
                    entry = {"label": info["label"], "keys": lab.summary(keys), "drag": lab.summary(drag),
                             "fast": rounds, "memory": memory}
                    if info["index"] == 0 and path.name == "00_welcome.ipynb":
                        lab.run_in_kernel(page, "import time as _t\n"
                                                "slider.slider.observe(lambda _: _t.sleep(0.05), names='value')")
                        entry["slow_kernel"] = s.rapid_moves(200)
                    nb["sliders"].append(entry)
                results[path.name] = nb
            except Exception as e:  # reported in the table; the other lessons still run
                results[path.name] = {"error": f"{type(e).__name__}: {e}"[:500], "sliders": []}
            finally:
                lab.shutdown_kernels(page)
                context.close()

    def ms(x):
        return "-" if x is None else f"{x:.0f} ms"

    lines = ["Sliders in the browser (JupyterLab 4 in headless Chromium, on the same machine as the kernel): "
             "from the input event to the new picture decoded and painted. "
             f"Keys: {BROWSER_KEYS} ArrowRight presses; drag: {BROWSER_DRAG_STEPS} mouse moves end to end and "
             "back, each waited for (moves that did not change the value are not counted). "
             f"Fast moves: {FAST_ROUNDS} rounds of 200 mouse moves back and forth without waiting.", "",
             "| slider | key: median / worst | drag move: median / worst | fast moves: pictures during / after "
             "the last move | last move to final picture (worst round) | final picture is the value's frame |",
             "|---|---|---|---|---|---|"]
    mem = ["", "Memory over the fast moves (kernel resident memory, page JS heap after garbage collection, "
               "DOM nodes), before the first round and after the last:", "",
           "| slider | kernel RSS | JS heap | DOM nodes |", "|---|---|---|---|"]
    notes = []
    for name, nb in results.items():
        if "error" in nb:
            lines.append(f"| `{name}` | FAILED in the browser: {nb['error'][:200]} | | | | |")
        for i, sl in enumerate(nb["sliders"]):
            if "slow_kernel" in sl:
                r = sl["slow_kernel"]
                notes.append(f"With the kernel's handler slowed to 50 ms per move (`{name}` #{i}), 200 fast moves "
                             f"in {r['moves_s']:.1f} s brought {r['pictures_during']} pictures during the moves and "
                             f"{r['pictures_after_last_move']} after; the final picture was "
                             f"{'the' if r['final_picture_matches_value'] else 'NOT the'} value's frame, "
                             f"{(r['last_move_to_final_ms'] or 0):.0f} ms after the last move.")
            label = f"`{name}` #{i} ({sl['label']})"
            fast = sl["fast"]
            during = "/".join(str(r["pictures_during"]) for r in fast)
            after = "/".join(str(r["pictures_after_last_move"]) for r in fast)
            worst = max((r["last_move_to_final_ms"] or 0) for r in fast)
            ok = "yes" if all(r["final_picture_matches_value"] for r in fast) else "NO"
            lines.append(f"| {label} | {ms(sl['keys']['median_ms'])} / {ms(sl['keys']['max_ms'])} "
                         f"| {ms(sl['drag']['median_ms'])} / {ms(sl['drag']['max_ms'])} | {during} / {after} "
                         f"| {worst:.0f} ms | {ok} |")
            m0, m1 = sl["memory"][0], sl["memory"][-1]
            rss = (f"{m0['kernel_rss_mb']:.0f} -> {m1['kernel_rss_mb']:.0f} MB"
                   if m0["kernel_rss_mb"] is not None and m1["kernel_rss_mb"] is not None else "-")
            mem.append(f"| {label} | {rss} | {m0['js_heap_mb']:.1f} -> {m1['js_heap_mb']:.1f} MB "
                       f"| {m0['dom_nodes']} -> {m1['dom_nodes']} |")
    return results, lines + ([""] + notes if notes else []) + mem


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
            f"{'CUDA' if torch.cuda.is_available() else 'CPU only'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--update-docs", "--update-readme", dest="update_docs", action="store_true",
                        help="also put the tables into docs/measurements.md (between its benchmark markers; "
                        "--update-readme is the old name)")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser measurements")
    parser.add_argument("--only-browser", action="store_true", help="only the browser measurements (printed)")
    parser.add_argument("--unet-compare", action="store_true",
                        help="also the course U-Net against diffusers' UNet2DModel (scripts/unet_side_by_side.py)")
    parser.add_argument("--unet-seconds", type=float, default=90.0,
                        help="with --unet-compare: training CPU seconds per model (default 90)")
    args = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.only_browser:
        browser, lines = browser_benchmark()
        print(json.dumps(browser, indent=1))
        print("\n".join(lines))
        return 0
    results = {}
    for path in solution_notebooks():
        print(f"running {path.name} ...", flush=True)
        results[path.name] = run_notebook(path, SLIDERS.get(path.name, []))
    lines = [f"Measured {date.today().isoformat()} on: {machine()}.", "",
             "| notebook | runtime from a fresh kernel | kernel peak memory |", "|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| `{name}` | {r['runtime_s']:.1f} s | {r['peak_mb']:.0f} MB |")
    lines += ["", "| slider | frames | update on a drag: median | worst | one frame rendered uncached |",
              "|---|---|---|---|---|"]
    for name, r in results.items():
        for s, b in r["sliders"].items():
            lines.append(f"| `{name}`: `{s}` | {b['frames']} | {b['median_ms']:.2f} ms | {b['max_ms']:.2f} ms "
                         f"| {b['render_ms']:.0f} ms |")
    extras = [(name, label, v) for name, r in results.items() for label, v in r["extras"].items()]
    if extras:
        lines += ["", "| lesson | measured in the lesson's own run | value |", "|---|---|---|"]
        lines += [f"| `{name}` | {label} | {v} |" for name, label, v in extras]
    print("sampler table ...", flush=True)
    lines += [""] + sampler_table()
    unet = None
    if args.unet_compare:
        print("course U-Net against diffusers' UNet2DModel ...", flush=True)
        sys.path.insert(0, str(ROOT / "scripts"))
        from unet_side_by_side import compare

        unet = compare(seconds=args.unet_seconds)
        lines += [""] + unet["lines"]
    browser = {"skipped": "--no-browser"}
    if not args.no_browser:
        print("browser ...", flush=True)
        browser, browser_lines = browser_benchmark()
        lines += [""] + browser_lines
    table = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # the tables' links are relative to docs/measurements.md; benchmarks/results.md is one folder over
    args.out.write_text(table.replace("](sampler-tables.md)", "](../docs/sampler-tables.md)"))
    args.json.write_text(json.dumps({"machine": machine(), "date": date.today().isoformat(), "results": results,
                                     "browser": browser, **({"unet_compare": unet} if unet else {})},
                                    indent=2) + "\n")
    print(table)
    if args.update_docs:
        page = ROOT / "docs" / "measurements.md"
        text = page.read_text()
        start, end = "<!-- benchmark:start -->\n", "<!-- benchmark:end -->"
        if start not in text or end not in text:
            print(f"{page} has lost its markers {start.strip()} / {end}: tables not copied", file=sys.stderr)
            return 1
        i, j = text.index(start) + len(start), text.index(end)
        page.write_text(text[:i] + table + text[j:])
        print(f"updated {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
