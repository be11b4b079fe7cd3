import pytest
import torch
import torch.nn.functional as F

from course_lib.course import exercises
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
