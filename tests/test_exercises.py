import pytest
import torch
import torch.nn.functional as F

from course_lib import book, exercises
from course_lib.checks import ch01


def _stub(*args):
    raise NotImplementedError


def test_ch01_checks_pass_on_solutions(capsys):
    ch01.optimal_discriminator(lambda p, q: p / (p + q))
    ch01.nonsaturating_loss(lambda l: F.softplus(-l).mean())

    def v(p, q):
        d = p / (p + q)
        return (p * d.log() + q * (1 - d).log()).sum()

    ch01.value_at_optimum(v)
    assert capsys.readouterr().out.count("\u2713") == 3


@pytest.mark.parametrize("check,wrong,hint", [
    (ch01.optimal_discriminator, lambda p, q: q / (p + q), "fake"),
    (ch01.optimal_discriminator, lambda p, q: p / q, "densit"),
    (ch01.nonsaturating_loss, lambda l: -F.softplus(-l).mean(), "sign"),
    (ch01.nonsaturating_loss, lambda l: -torch.log(torch.sigmoid(l)).mean(), "infinite"),
    (ch01.nonsaturating_loss, lambda l: (-F.softplus(l)).mean(), "saturating"),
    (ch01.value_at_optimum, lambda p, q: (p * p.log()).sum(), "expected"),
])
def test_ch01_checks_fail_with_a_hint(check, wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check(wrong)


@pytest.mark.parametrize("check", [ch01.optimal_discriminator, ch01.nonsaturating_loss, ch01.value_at_optimum])
def test_checks_fail_on_stubs(check):
    with pytest.raises(exercises.ExerciseNotDone, match="not attempted"):
        check(_stub)


def test_strip_solutions_keeps_indentation_and_code_around():
    src = ("def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n\n"
           "### BEGIN SOLUTION\nz = 3\n### END SOLUTION\nprint(z)")
    out = exercises.strip_solutions(src)
    assert "return x + y" not in out and "z = 3" not in out and "BEGIN" not in out
    assert f"    y = 1\n    {exercises.STUB}\n" in out
    assert out.endswith(f"{exercises.STUB}\nprint(z)")
    ns = {}
    exec(out.split("\n\n")[0], ns)
    with pytest.raises(NotImplementedError):
        ns["f"](1)


def test_learner_edition_removes_solutions_and_keeps_checks(tmp_path):
    import nbformat

    written = exercises.write_learner_edition(tmp_path)
    ready = [c for c in book.chapters() if c.ready]
    assert len(written) == len(ready) > 0
    for path, ch in zip(written, ready):
        full = nbformat.read(ch.notebook_path, as_version=4)
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert len(nb.cells) == len(full.cells)
        ex = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
        checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
        assert ex and len(checks) >= len(ex)
        assert all(exercises.STUB in c.source and not exercises.has_solution(c.source) for c in ex)
        assert all(a.source == b.source for a, b in zip(nb.cells, full.cells)
                   if "exercise" not in a.metadata.get("tags", []))
