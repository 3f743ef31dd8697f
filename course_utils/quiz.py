"""The "Take the quiz" at the end of every lesson: a few questions that test understanding, not recall.

Each lesson's questions live in ``course_utils/quizzes/lessonNN.py`` as ``QUESTIONS``, a tuple of
:class:`Question`; the notebooks only call ``take_quiz(N)``, so the answers are not in the notebook. Every
choice carries a ``why``: for a wrong choice, why it is tempting and why it is wrong; for the right one, why
it is right. Nothing is graded or saved: the quiz is for the learner.

Built with ipywidgets rather than jupyterquiz: jupyterquiz would be an extra dependency, and it renders
through injected JavaScript whose state a kernel test cannot read (these widgets' state it can).

Not essential on first read: course plumbing, used by the notebooks' last cell and by ``tests/test_quiz.py``.
"""

from __future__ import annotations

import functools
import html
import importlib
import re
from dataclasses import dataclass

KINDS = ("predict", "equation", "bug", "plot", "concept")
LESSONS = range(9)
RIGHT = "Right."
WRONG = "Not quite."
PICK_FIRST = "Pick an answer first, then press Check."


@dataclass(frozen=True)
class Choice:
    text: str  # what the learner can pick; `code` in backticks and $math$ allowed
    correct: bool = False
    # shown once picked: for a wrong choice, why it is tempting and why it is wrong; for the right one, why it is right
    why: str = ""


@dataclass(frozen=True)
class Question:
    prompt: str  # the question; `code` in backticks and $math$ allowed; may have several sentences
    choices: tuple[Choice, ...]  # 3 or 4, exactly one correct, the correct one not always in the same position
    code: str = ""  # optional code shown under the prompt, verbatim (for "spot the bug")
    kind: str = "concept"  # one of "predict" (what will a slider/plot show), "equation", "bug", "plot", "concept"

    @property
    def answer(self) -> int:
        """The index of the correct choice (the first, if a broken question has several)."""
        return next((k for k, c in enumerate(self.choices) if c.correct), -1)


def _check_lesson(lesson) -> int:
    if isinstance(lesson, bool) or not isinstance(lesson, int):
        raise TypeError(f"lesson must be an int from 0 to 8 (the lesson's number), not {type(lesson).__name__} "
                        f"{lesson!r}")
    if lesson not in LESSONS:
        raise ValueError(f"lesson must be from 0 to 8 (the course's lessons), not {lesson}")
    return lesson


def load(lesson: int) -> tuple[Question, ...]:
    """Lesson ``lesson``'s questions (``course_utils.quizzes.lessonNN.QUESTIONS``)."""
    lesson = _check_lesson(lesson)
    module = importlib.import_module(f"course_utils.quizzes.lesson{lesson:02d}")
    return tuple(module.QUESTIONS)


def _unbalanced(text: str) -> str:
    """What is unbalanced in ``text``: backticks or (outside backticks) unescaped dollar signs; "" if nothing."""
    if text.count("`") % 2:
        return "an odd number of backticks"
    outside = "".join(text.split("`")[::2]).replace(r"\$", "")
    if outside.count("$") % 2:
        return "an odd number of $ signs (outside `code`)"
    return ""


def problems(questions, lesson: int | None = None) -> list[str]:
    """Everything wrong with a lesson's questions, one line each; [] when they are fine.

    4 to 6 questions; each a :class:`Question` with a prompt, a kind from ``KINDS`` and 3 or 4 choices,
    exactly one correct, no two with the same text, every one with a ``why``; balanced backticks and $;
    and, over the lesson, the correct choice not always in the same position."""
    where = f"lesson {lesson}" if lesson is not None else "the quiz"
    found = []
    questions = tuple(questions)
    if not 4 <= len(questions) <= 6:
        found.append(f"{where}: {len(questions)} questions (4 to 6 expected)")
    for i, q in enumerate(questions, start=1):
        name = f"{where}, question {i}"
        if not isinstance(q, Question):
            found.append(f"{name}: a {type(q).__name__}, not a Question")
            continue
        if not q.prompt.strip():
            found.append(f"{name}: empty prompt")
        if q.kind not in KINDS:
            found.append(f"{name}: kind {q.kind!r} (one of {', '.join(KINDS)} expected)")
        if not isinstance(q.choices, tuple) or not all(isinstance(c, Choice) for c in q.choices):
            found.append(f"{name}: choices must be a tuple of Choice")
            continue
        if not 3 <= len(q.choices) <= 4:
            found.append(f"{name}: {len(q.choices)} choices (3 or 4 expected)")
        n_right = sum(bool(c.correct) for c in q.choices)
        if n_right != 1:
            found.append(f"{name}: {n_right} correct choices (exactly 1 expected)")
        texts = [" ".join(c.text.split()) for c in q.choices]
        if len(set(texts)) != len(texts):
            found.append(f"{name}: two choices with the same text")
        for k, c in enumerate(q.choices, start=1):
            if not c.text.strip():
                found.append(f"{name}, choice {k}: empty text")
            if not c.why.strip():
                found.append(f"{name}, choice {k}: no `why` (say why it is tempting and why it is wrong, or why right)")
        for label, text in [("prompt", q.prompt)] + [(f"choice {k}", c.text) for k, c in enumerate(q.choices, 1)] \
                + [(f"choice {k}'s why", c.why) for k, c in enumerate(q.choices, 1)]:
            if bad := _unbalanced(text):
                found.append(f"{name}, {label}: {bad}")
    answers = {q.answer for q in questions if isinstance(q, Question) and isinstance(q.choices, tuple)}
    if len(questions) > 1 and len(answers) == 1:
        found.append(f"{where}: the correct choice is always number {answers.pop() + 1}")
    return found


def validate(questions, lesson: int | None = None) -> tuple[Question, ...]:
    """``questions`` as a tuple if :func:`problems` finds nothing; else ValueError listing the problems."""
    found = problems(questions, lesson)
    if found:
        raise ValueError("the quiz is not well formed:\n  " + "\n  ".join(found))
    return tuple(questions)


# --- display ----------------------------------------------------------------------------------------------


def _emphasis(text: str) -> str:
    """**bold** and *italic* outside $math$ (split on unescaped $: the odd pieces are math, left alone)."""
    pieces = re.split(r"(?<!\\)(\$)", text)
    inside, out = False, []
    for piece in pieces:
        if piece == "$":
            inside = not inside
        elif not inside:
            piece = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"<b>\1</b>", piece)
            piece = re.sub(r"(?<![\w*])\*(\S(?:.*?\S)?)\*(?![\w*])", r"<i>\1</i>", piece)
        out.append(piece)
    return "".join(out)


def to_html(text: str) -> str:
    """Quiz text as HTML: `code` -> <code>, **bold** and *italic*, blank lines -> paragraphs, $math$ left
    for MathJax (HTMLMath)."""
    parts = text.split("`")
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(f"<code>{html.escape(part, quote=False)}</code>")
        else:
            out.append(_emphasis(html.escape(part, quote=False)))
    paragraphs = re.split(r"\n\s*\n", "".join(out).strip())
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _widgets():
    import ipywidgets as widgets

    return widgets


class QuestionView:
    """One question's widgets: ``box`` (class quiz-question) holding the prompt, the choices (one toggle per
    choice, class quiz-pick, beside its text), the Check button (quiz-check) and the feedback (quiz-feedback)."""

    def __init__(self, number: int, question: Question, on_check) -> None:
        w = _widgets()
        self.question = question
        self.result: bool | None = None  # the last check: right, wrong, or not checked yet
        prompt = to_html(question.prompt).replace("<p>", f"<p><b>{number}.</b> ", 1)
        if question.code:
            prompt += f"<pre class='quiz-code'>{html.escape(question.code.strip(chr(10)), quote=False)}</pre>"
        self.prompt = w.HTMLMath(prompt)
        self.prompt.add_class("quiz-prompt")
        self.toggles = []
        rows = []
        for k, choice in enumerate(question.choices):
            toggle = w.ToggleButton(value=False, description=chr(ord("A") + k), tooltip="pick this answer",
                                    layout=w.Layout(width="3em", flex="0 0 auto"))
            toggle.add_class("quiz-pick")
            toggle.observe(self._picked, names="value")
            text = w.HTMLMath(to_html(choice.text), layout=w.Layout(flex="1 1 auto"))
            text.add_class("quiz-choice-text")
            row = w.HBox([toggle, text], layout=w.Layout(align_items="center"))
            row.add_class("quiz-choice")
            self.toggles.append(toggle)
            rows.append(row)
        self.choices = w.VBox(rows)
        self.choices.add_class("quiz-choices")
        self.check = w.Button(description="Check", button_style="primary", layout=w.Layout(width="8em"))
        self.check.add_class("quiz-check")
        self.check.on_click(lambda _: on_check(self))
        self.feedback = w.HTMLMath("")
        self.feedback.add_class("quiz-feedback")
        self.box = w.VBox([self.prompt, self.choices, self.check, self.feedback],
                          layout=w.Layout(margin="0 0 1.2em 0"))
        self.box.add_class("quiz-question")
        self._busy = False

    def _picked(self, change) -> None:
        """Toggles act as radio buttons: picking one unpicks the others (and clears old feedback)."""
        if self._busy:
            return
        self._busy = True
        try:
            if change["new"]:
                for t in self.toggles:
                    if t is not change["owner"]:
                        t.value = False
            self.feedback.value = ""
        finally:
            self._busy = False

    @property
    def picked(self) -> int | None:
        """The index of the picked choice, or None."""
        return next((k for k, t in enumerate(self.toggles) if t.value), None)

    def pick(self, k: int | None) -> None:
        """Pick choice ``k`` (0-based), or none."""
        for j, t in enumerate(self.toggles):
            if j != k:
                t.value = False
        if k is not None:
            self.toggles[k].value = True

    def grade(self) -> bool | None:
        k = self.picked
        if k is None:
            self.feedback.value = f"<p>{PICK_FIRST}</p>"
            return None
        choice = self.question.choices[k]
        self.result = bool(choice.correct)
        verdict = RIGHT if choice.correct else WRONG
        colour = "#1a7f37" if choice.correct else "#b35900"
        why = to_html(choice.why)
        self.feedback.value = (f"<div style='border-left: 4px solid {colour}; padding-left: 0.6em'>"
                               f"<b style='color: {colour}'>{verdict}</b> {why}</div>")
        return self.result


@functools.lru_cache(maxsize=1)
def _quiz_class():
    w = _widgets()

    class Quiz(w.VBox):
        """The whole quiz, displayable (a VBox, class quiz): ``views`` (one :class:`QuestionView` per question)
        and ``score`` (class quiz-score). In code: ``quiz.pick(i, k)``, ``quiz.check(i)``, ``quiz.feedback(i)``
        (question ``i`` and choice ``k`` counted from 0)."""

        def setup(self, lesson: int, questions: tuple[Question, ...]) -> Quiz:
            self.lesson = lesson
            self.questions = questions
            self.views = [QuestionView(i, q, self._checked) for i, q in enumerate(questions, start=1)]
            self.score = w.HTML(self._score_text())
            self.score.add_class("quiz-score")
            title = w.HTML(f"<b>Lesson {lesson} quiz</b>: {len(questions)} questions. Pick an answer, press "
                           "Check; the explanation says why. Nothing is graded or saved.")
            title.add_class("quiz-title")
            self.children = [title, *(v.box for v in self.views), self.score]
            self.add_class("quiz")
            return self

        def _score_text(self) -> str:
            right = sum(v.result is True for v in self.views)
            return f"{right} of {len(self.views)} right so far"

        def _checked(self, view: QuestionView) -> None:
            view.grade()
            self.score.value = self._score_text()

        def pick(self, i: int, k: int | None) -> None:
            self.views[i].pick(k)

        def check(self, i: int) -> None:
            self.views[i].check.click()

        def feedback(self, i: int) -> str:
            return self.views[i].feedback.value

    return Quiz


def take_quiz(lesson: int):
    """Show lesson ``lesson``'s quiz (0 to 8); returns the quiz widget (a VBox: the last line of a cell shows it)."""
    questions = validate(load(lesson), lesson)
    return _quiz_class()().setup(lesson, questions)
