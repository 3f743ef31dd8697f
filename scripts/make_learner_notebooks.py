"""Generate the learner notebooks in notebooks/ from the solution notebooks in notebooks/solutions/.

    python scripts/make_learner_notebooks.py          # write them
    python scripts/make_learner_notebooks.py --check  # exit 1 if any committed learner notebook is out of date

Never edit a learner notebook by hand: edit the solution notebook and run this script.
"""

from __future__ import annotations

import argparse
import sys

import nbformat

from course_utils.exercises import learner_path, make_learner_notebook, render, solution_notebooks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args()
    stale = []
    for src in solution_notebooks():
        text = render(make_learner_notebook(nbformat.read(src, as_version=4)))
        dst = learner_path(src)
        if args.check:
            if not dst.exists() or dst.read_text(encoding="utf-8") != text:
                stale.append(dst)
        else:
            dst.write_text(text, encoding="utf-8")
            print(f"wrote {dst.relative_to(dst.parent.parent)}")
    if stale:
        print("out of date (run python scripts/make_learner_notebooks.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
