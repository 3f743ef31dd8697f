"""The questions of each lesson's quiz: ``lessonNN.py`` defines ``QUESTIONS``, a tuple of
``course_utils.quiz.Question`` (4 to 6). The notebooks show them with ``course_utils.take_quiz(N)``;
the answers stay here, out of the notebooks. See ``course_utils/quiz.py`` for the format."""

from __future__ import annotations

from pathlib import Path


def lessons() -> list[int]:
    """The lessons whose question file exists, in order."""
    here = Path(__file__).parent
    return sorted(int(p.stem[6:]) for p in here.glob("lesson[0-9][0-9].py"))
