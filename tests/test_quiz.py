"""The quiz at the end of every lesson (course_utils.quiz, course_utils/quizzes/lessonNN.py).

Every lesson's questions are well formed; each notebook ends with the quiz of its own lesson and does not
contain the answers; the widgets work without a browser (pick, Check, read the feedback); bad input fails
in one line. The browser test (test_browser.py, ``answer_quiz``) does the same clicks in JupyterLab.
"""

from __future__ import annotations

import dataclasses
import re

import nbformat
import pytest

from course_utils import quiz
from course_utils.exercises import NOTEBOOKS, learner_path, solution_notebooks
from course_utils.quizzes import lessons

ALL_LESSONS = list(range(9))
PRESENT = lessons()  # the lessons whose question file exists (all 9 once the course is complete)


def test_every_lesson_has_a_quiz():
    assert PRESENT == ALL_LESSONS, f"question files exist for lessons {PRESENT}, expected {ALL_LESSONS}"
    assert [int(p.name[:2]) for p in solution_notebooks()] == ALL_LESSONS


@pytest.mark.parametrize("lesson", PRESENT)
def test_questions_are_well_formed(lesson):
    questions = quiz.load(lesson)
    assert quiz.problems(questions, lesson) == []
    assert quiz.validate(questions, lesson) == questions


def test_the_kinds_are_mixed():
    """Understanding, not recall: every lesson mixes kinds; the course as a whole has every kind."""
    kinds = {n: {q.kind for q in quiz.load(n)} for n in PRESENT}
    assert all(len(k) >= 3 for k in kinds.values()), kinds
    assert set().union(*kinds.values()) == set(quiz.KINDS), kinds
    for n in (0, 1, 2, 3):  # this module's author's lessons: a predict, a bug and an equation question each
        if n in kinds:
            assert {"predict", "bug", "equation"} <= kinds[n], (n, kinds[n])


def _broken(questions, k, **change):
    q = questions[k]
    return questions[:k] + (dataclasses.replace(q, **change),) + questions[k + 1:]


def test_validation_catches_broken_quizzes():
    good = quiz.load(0)
    q = good[0]
    two_right = tuple(dataclasses.replace(c, correct=True) if i < 2 else c for i, c in enumerate(q.choices))
    cases = {
        "2 correct choices": _broken(good, 0, choices=two_right),
        "0 correct choices": _broken(good, 0, choices=tuple(dataclasses.replace(c, correct=False)
                                                            for c in q.choices)),
        "2 choices (3 or 4": _broken(good, 0, choices=(q.choices[0], q.choices[q.answer])),
        "no `why`": _broken(good, 0, choices=(dataclasses.replace(q.choices[0], why=" "),) + q.choices[1:]),
        "same text": _broken(good, 0, choices=q.choices[:-1] + (dataclasses.replace(q.choices[-1],
                                                                                  text=q.choices[0].text),)),
        "kind 'trivia'": _broken(good, 0, kind="trivia"),
        "3 questions": good[:3],
        "7 questions": good + good[:2],
        "odd number of $": _broken(good, 0, prompt=q.prompt + " costs $5"),
        "odd number of backticks": _broken(good, 0, prompt=q.prompt + " `x"),
        "empty prompt": _broken(good, 0, prompt=""),
    }
    for expected, questions in cases.items():
        found = quiz.problems(questions, 0)
        assert any(expected in line for line in found), (expected, found)
        with pytest.raises(ValueError, match="not well formed"):
            quiz.validate(questions)
    same_place = tuple(dataclasses.replace(x, choices=tuple(sorted(x.choices, key=lambda c: not c.correct)))
                       for x in good)
    assert any("always number 1" in line for line in quiz.problems(same_place))


@pytest.mark.parametrize("path", solution_notebooks(), ids=lambda p: p.stem)
def test_notebook_ends_with_its_quiz(path):
    lesson = int(path.name[:2])
    for nb_path in (path, learner_path(path)):
        nb = nbformat.read(nb_path, as_version=4)
        md, code = nb.cells[-2], nb.cells[-1]
        assert md.cell_type == "markdown" and md.source.startswith("## Take the quiz"), (nb_path, md.source[:60])
        assert code.cell_type == "code" and code.source.strip() == f"cu.take_quiz({lesson})", (nb_path, code.source)
        assert sum("take_quiz" in c.source for c in nb.cells) == 1, nb_path
        assert "import course_utils as cu" in "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _plain(text: str) -> str:
    return " ".join(text.split()).lower()


@pytest.mark.parametrize("lesson", PRESENT)
def test_answers_are_not_in_the_notebooks(lesson):
    """The questions, the correct choices and the explanations live in the package, not in the notebook the
    learner reads. (A correct choice that is only an equation, "$...$", may well be in the lesson: the lesson
    teaches it; the quiz asks to pick it among tempting look-alikes.)"""
    path = next(p for p in solution_notebooks() if int(p.name[:2]) == lesson)
    for nb_path in (path, NOTEBOOKS / path.name):
        text = _plain(" ".join(c.source for c in nbformat.read(nb_path, as_version=4).cells))
        for q in quiz.load(lesson):
            right = q.choices[q.answer]
            equation = re.fullmatch(r"\$[^$]*\$", right.text.strip())
            for s in [q.prompt, right.why] + ([] if equation else [right.text]):
                assert _plain(s) not in text, f"{nb_path.name}: the notebook contains the answer {s[:60]!r}"


@pytest.mark.parametrize("lesson", PRESENT)
def test_picking_and_checking_without_a_browser(lesson):
    pytest.importorskip("ipywidgets")
    questions = quiz.load(lesson)
    shown = quiz.take_quiz(lesson)
    assert len(shown.views) == len(questions)
    assert shown.score.value == f"0 of {len(questions)} right so far"
    for i, q in enumerate(questions):
        view = shown.views[i]
        assert {"quiz-question"} <= set(view.box._dom_classes)
        assert "quiz-check" in view.check._dom_classes and "quiz-feedback" in view.feedback._dom_classes
        assert len(view.toggles) == len(q.choices)
        # Check before picking: a nudge, no verdict
        shown.check(i)
        assert "Pick an answer first" in shown.feedback(i)
        wrong = next(k for k, c in enumerate(q.choices) if not c.correct)
        shown.pick(i, wrong)
        shown.check(i)
        said = shown.feedback(i)
        assert "Not quite." in said and "Right." not in said, said
        assert quiz.to_html(q.choices[wrong].why) in said
        assert view.result is False
        # picking another clears the old feedback and unpicks the first (the toggles act as radio buttons)
        view.toggles[q.answer].value = True
        assert view.picked == q.answer and not view.toggles[wrong].value
        assert shown.feedback(i) == ""
        view.check.click()
        said = shown.feedback(i)
        assert "Right." in said and "Not quite." not in said and quiz.to_html(q.choices[q.answer].why) in said
        assert shown.score.value == f"{i + 1} of {len(questions)} right so far"


def test_the_question_text_is_rendered():
    assert quiz.to_html("`a < b` and **bold**, *it*, $x_t * 2$") == (
        "<p><code>a &lt; b</code> and <b>bold</b>, <i>it</i>, $x_t * 2$</p>")
    assert quiz.to_html("one\n\ntwo") == "<p>one</p><p>two</p>"
    shown = quiz.take_quiz(0)
    bug = next(v for v in shown.views if v.question.code)
    assert "<pre class='quiz-code'>" in bug.prompt.value and "&lt;" not in bug.question.code


@pytest.mark.parametrize("bad, error, words", [
    (9, ValueError, "from 0 to 8"),
    (-1, ValueError, "from 0 to 8"),
    ("3", TypeError, "an int from 0 to 8"),
    (3.0, TypeError, "an int from 0 to 8"),
    (True, TypeError, "an int from 0 to 8"),
    (None, TypeError, "an int from 0 to 8"),
])
def test_bad_input_says_what_was_expected(bad, error, words):
    for fn in (quiz.take_quiz, quiz.load):
        with pytest.raises(error, match=words) as info:
            fn(bad)
        assert "\n" not in str(info.value)

