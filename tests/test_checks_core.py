"""The checks' core: strict and soft mode, and ``use_yours`` (course_utils/checks/core.py).

Strict mode (a failing check raises one line) is what pytest, nbval and ``course.py check`` see; soft
mode (print the line in red, return) is a learner's "Run All" in JupyterLab. ``use_yours`` hands a
later cell the learner's function only if that very function object passed its check.
"""

from __future__ import annotations

import math
import os
import sys

import pytest

from course_utils import checks
from course_utils.checks import core


def good_step(x_prev, beta_t, eps):
    return math.sqrt(1 - beta_t) * x_prev + math.sqrt(beta_t) * eps


def bad_step(x_prev, beta_t, eps):  # the square roots missing: a named mistake
    return (1 - beta_t) * x_prev + beta_t * eps


def course_step(x_prev, beta_t, eps):
    return good_step(x_prev, beta_t, eps)


good_step.__name__ = bad_step.__name__ = "forward_step"  # the name the learner's function has in the notebook


@pytest.fixture(autouse=True)
def fresh_record(monkeypatch):
    """Each test starts with no passed exercise and no COURSE_CHECKS setting."""
    monkeypatch.setattr(core, "_PASSED", {})
    monkeypatch.delenv("COURSE_CHECKS", raising=False)


def test_strict_mode_from_the_environment(monkeypatch):
    assert "PYTEST_CURRENT_TEST" in os.environ  # pytest sets it; a kernel started by nbval inherits it
    assert checks.strict_mode()
    monkeypatch.setenv("COURSE_CHECKS", "soft")
    assert not checks.strict_mode()
    monkeypatch.delenv("COURSE_CHECKS")
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert not checks.strict_mode()  # a learner's JupyterLab
    monkeypatch.setenv("COURSE_CHECKS", "strict")
    assert checks.strict_mode()


def test_strict_mode_raises_one_line():
    with pytest.raises(checks.ExerciseFailed) as info:
        checks.check_forward_step(bad_step)
    message = info.value.args[0]
    assert message.startswith("Exercise 1.2 (forward_step): the square roots are missing")
    assert "\n" not in message
    assert info.value._render_traceback_() == [f"\x1b[31mX {message}\x1b[0m"]


def test_soft_mode_prints_the_line_in_red_and_returns(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_CHECKS", "soft")
    assert checks.check_forward_step(bad_step) is None
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("\x1b[31mX Exercise 1.2 (forward_step): the square roots are missing")
    assert err.endswith("\x1b[0m\n") and err.count("\n") == 1
    assert checks.check_forward_step(good_step) is None
    out, err = capsys.readouterr()
    assert out.startswith("OK Exercise 1.2 (forward_step) passed") and err == ""


def test_use_yours_only_after_a_pass(capsys):
    assert checks.use_yours(good_step, course_step) is course_step  # before any check
    assert capsys.readouterr().out == (
        "Exercise 1.2 (forward_step) is not done yet: this cell uses the course's version.\n")
    checks.check_forward_step(good_step)
    capsys.readouterr()
    assert checks.use_yours(good_step, course_step) is good_step
    assert capsys.readouterr().out == "Exercise 1.2 (forward_step) passed: this cell uses your forward_step.\n"


def test_use_yours_falls_back_after_a_failing_recheck(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_CHECKS", "soft")
    checks.check_forward_step(good_step)
    assert checks.use_yours(good_step, course_step) is good_step
    checks.check_forward_step(bad_step)  # the learner changed the cell and checked again: it fails
    assert checks.use_yours(good_step, course_step) is course_step
    assert checks.use_yours(bad_step, course_step) is course_step


def test_use_yours_falls_back_for_a_redefined_function(capsys):
    checks.check_forward_step(good_step)
    namespace: dict = {"math": math}
    exec(  # the learner edits and re-runs the exercise cell but not its check: a new function object
        "def forward_step(x_prev, beta_t, eps):\n    return math.sqrt(1 - beta_t) * x_prev + math.sqrt(beta_t) * eps\n",
        namespace)
    capsys.readouterr()
    assert checks.use_yours(namespace["forward_step"], course_step) is course_step
    assert "Exercise 1.2 (forward_step) is not done yet" in capsys.readouterr().out
    assert checks.use_yours(good_step, course_step) is good_step


def test_use_yours_rejects_a_fallback_that_is_not_a_function():
    with pytest.raises(TypeError, match="fallback must be a function"):
        checks.use_yours(good_step, None)
    with pytest.raises(TypeError, match="got Tensor"):
        import torch

        checks.use_yours(good_step, torch.zeros(3))


def test_every_check_is_exported_with_its_exercise_number():
    names = [n for n in checks.__all__ if n.startswith("check_")]
    assert len(names) >= 12
    for name in names:
        fn = getattr(checks, name)
        assert fn.__name__ == name and fn.__doc__.startswith("Exercise "), name
        assert fn.exercise.startswith(fn.__doc__.split(":")[0] + " ("), name  # the label matches the docstring
        assert fn.__module__.startswith("course_utils.checks.lesson" + fn.__doc__[len("Exercise ")]), name


def test_soft_mode_in_a_kernel_without_pytest():
    """A kernel started as JupyterLab starts it (no PYTEST_CURRENT_TEST): a failing check does not stop the cell."""
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "COURSE_CHECKS")}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        stderr: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stderr":
                stderr.append(msg["content"]["text"])

        code = ("from course_utils import checks\n"
                "def forward_step(x_prev, beta_t, eps):\n    return (1 - beta_t) * x_prev + beta_t * eps\n"
                "checks.check_forward_step(forward_step)\n"
                "done = checks.use_yours(forward_step, fallback=print) is print\n")
        reply = kc.execute_interactive(code, timeout=900, output_hook=hook)["content"]
        assert reply["status"] == "ok", reply
        assert "".join(stderr).startswith("\x1b[31mX Exercise 1.2 (forward_step): the square roots are missing")
        res = kc.execute_interactive("", user_expressions={"v": "done"}, timeout=600,
                                     output_hook=lambda m: None)["content"]["user_expressions"]["v"]
        assert res["data"]["text/plain"] == "True"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_one_dtype_rule():
    """Float results keep the inputs' float dtype, ids and labels are torch.long, a tensor is a tensor."""
    import torch

    x = torch.ones(2, 3)
    core._compare("Ex", x.clone(), x, {}, "", dtype=torch.float32)  # right dtype, right values: passes
    with pytest.raises(checks.ExerciseFailed, match="dtype float32, got float64"):
        core._compare("Ex", x.double(), x, {}, "", dtype=torch.float32)
    with pytest.raises(checks.ExerciseFailed, match="dtype float32, got float64"):
        core._compare_steps("Ex", [(x.double(), x, {})], "", dtype=torch.float32)
    with pytest.raises(checks.ExerciseFailed, match=r"torch.long \(int64\), got int32"):
        core._want_dtype("Ex", torch.zeros(3, dtype=torch.int32), torch.long)
    with pytest.raises(checks.ExerciseFailed, match="returned 'list', expected a torch.Tensor"):
        core._want_tensor("Ex", [1, 2])
    with pytest.raises(checks.ExerciseFailed, match="returned None"):
        core._want_tensor("Ex", None)
    core._compare("Ex", x.double(), x, {}, "")  # without dtype= the values alone are compared


def _always_equal_class():
    import torch

    class _Eq(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if getattr(func, "__name__", "") in ("allclose", "equal"):
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    return _Eq


@pytest.mark.parametrize("exercise", ["euler_step", "mean_word_vector"])
def test_a_tensor_subclass_that_fakes_comparisons_fails(monkeypatch, exercise):
    """A subclass whose torch.allclose / torch.equal return True would pass any comparison: the core refuses it."""
    import torch

    from course_utils.checks import lesson6, lesson7

    eq = _always_equal_class()
    monkeypatch.setenv("COURSE_CHECKS", "strict")
    if exercise == "euler_step":
        check, cheat = lesson6.check_euler_step, lambda x, v, t, t_next: (x * 0).as_subclass(eq)
    else:
        check = lesson7.check_mean_word_vector
        cheat = lambda ids, table: torch.zeros(ids.shape[0], table.shape[1], dtype=table.dtype).as_subclass(eq)  # noqa: E731
    with pytest.raises(core.ExerciseFailed, match="expected a plain torch.Tensor, got a subclass _Eq"):
        check(cheat)
