"""Chapter 13's exercise checks pass on the solutions and fail, with a useful message, on wrong answers and stubs."""

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange, repeat

from course_lib.checks import ch13 as check
from course_lib.course.exercises import ExerciseNotDone
from course_lib.models import seqgan


def stub(*args):
    raise NotImplementedError


# ---- REINFORCE surrogate -----------------------------------------------------------------------------------


def test_reinforce_check_passes_on_the_solution_and_the_package():
    check.reinforce_loss(lambda lp, q: -(lp * q.detach()).sum(1).mean())
    check.reinforce_loss(seqgan.pg_loss)


@pytest.mark.parametrize("wrong, hint", [
    (lambda lp, q: (lp * q.detach()).sum(1).mean(), "sign"),
    (lambda lp, q: -(lp * q.detach()).mean(), "sum over the T positions"),
    (lambda lp, q: -(lp * q).sum(1).mean(), "detach"),
])
def test_reinforce_check_names_the_mistake(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check.reinforce_loss(wrong)


def test_checks_report_a_stub_as_not_attempted():
    for c in (check.reinforce_loss, check.mc_reward, check.gumbel_softmax_sample):
        with pytest.raises(ExerciseNotDone):
            c(stub)


# ---- Monte Carlo reward of a prefix --------------------------------------------------------------------------


def mc_solution(G, D, prefix, n):
    B, t = prefix.shape
    rows = repeat(F.pad(prefix, (0, G.seq_len - t)), "b t -> (n b) t", n=n)
    done = G.complete(rows, torch.full((n * B,), t))
    with torch.no_grad():
        return rearrange(torch.sigmoid(D(done)), "(n b) 1 -> n b", n=n).mean(0)


def mc_ignores_prefix(G, D, prefix, n):
    done = G.sample(n * len(prefix))
    with torch.no_grad():
        return rearrange(torch.sigmoid(D(done)), "(n b) 1 -> n b", n=n).mean(0)


def mc_logits(G, D, prefix, n):
    B, t = prefix.shape
    rows = repeat(F.pad(prefix, (0, G.seq_len - t)), "b t -> (n b) t", n=n)
    with torch.no_grad():
        return rearrange(D(G.complete(rows, torch.full((n * B,), t))), "(n b) 1 -> n b", n=n).mean(0)


def test_mc_reward_check_passes_on_the_solution():
    check.mc_reward(mc_solution)


@pytest.mark.parametrize("wrong", [mc_ignores_prefix, mc_logits])
def test_mc_reward_check_fails_on_wrong_rewards(wrong):
    with pytest.raises(AssertionError, match="expected reward|complete sequence"):
        check.mc_reward(wrong)


# ---- Gumbel-softmax ----------------------------------------------------------------------------------------


def test_gumbel_check_passes_on_the_solution():
    check.gumbel_softmax_sample(lambda l, tau, u: torch.softmax((l - torch.log(-torch.log(u))) / tau, -1))


@pytest.mark.parametrize("wrong, hint", [
    (lambda l, tau, u: torch.softmax((l + torch.log(-torch.log(u))) / tau, -1), "subtracted"),
    (lambda l, tau, u: torch.softmax(l - torch.log(-torch.log(u)), -1), "temperature"),
    (lambda l, tau, u: torch.softmax(l / tau, -1), "expected softmax"),
])
def test_gumbel_check_names_the_mistake(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check.gumbel_softmax_sample(wrong)
