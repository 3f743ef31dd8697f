"""Progress bars that suit where the output goes.

In a notebook (tqdm's widget) or a terminal (tqdm's bar redrawn in place) this is tqdm, as before. When the
output is neither, a log file or CI, a redrawn bar becomes one long line of carriage returns: instead, a few
short lines ("sampling: 25/50 steps, 3.1 s") at 0, 25, 50, 75 and 100 %.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    try:
        return shell.get_ipython() is not None and "IPKernelApp" in shell.get_ipython().config
    except Exception:  # noqa: BLE001  (any failure: not a notebook we know)
        return False


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Lines:
    """Short progress lines for a log: the iterable's items, passed through unchanged."""

    def __init__(self, iterable: Iterable, desc: str, unit: str, total: int | None, stream) -> None:
        self.iterable, self.desc, self.unit, self.stream = iterable, desc, unit, stream
        try:
            self.total = total if total is not None else len(iterable)  # type: ignore[arg-type]
        except TypeError:
            self.total = None

    def __len__(self) -> int:
        return self.total or 0

    def __iter__(self) -> Iterator:
        tic = time.perf_counter()
        marks = {round(self.total * k / 4) for k in range(1, 5)} if self.total else set()
        done = 0
        for item in self.iterable:
            yield item
            done += 1
            if done in marks:
                of = f"/{self.total}" if self.total else ""
                print(f"{self.desc}: {done}{of} {self.unit}s, {time.perf_counter() - tic:.1f} s", file=self.stream,
                      flush=True)

    def set_postfix(self, *args, **kwargs) -> None:  # tqdm's, which the training loop calls: nothing in a log
        pass

    def close(self) -> None:
        pass


def progress(iterable: Iterable, desc: str, unit: str = "it", total: int | None = None, **tqdm_kwargs):
    """``tqdm(iterable, ...)`` in a notebook or a terminal; a few short lines on stderr otherwise."""
    if _in_notebook() or _is_terminal(sys.stderr):
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, unit=unit, total=total, **tqdm_kwargs)
    return _Lines(iterable, desc, unit, total, sys.stderr)
