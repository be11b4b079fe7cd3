"""The chapter-03 step: each optimizer moves only its player, n_critic counts D steps, penalties reach D."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib import data, gan_zoo, losses


def _players(recipe=gan_zoo.Recipe("t")):
    torch.manual_seed(0)
    return gan_zoo.build_toy(recipe, z_dim=4, hidden=8)


def _batches(n=16):
    g = torch.Generator().manual_seed(0)
    mix = data.grid(std=0.05)
    return iter(lambda: mix.sample(n, generator=g), None)


def _snapshot(m):
    return [p.detach().clone() for p in m.parameters()]


def _moved(before, m):
    return [not torch.equal(a, b) for a, b in zip(before, m.parameters())]


@pytest.mark.parametrize("name", list(gan_zoo.TOY_RECIPES))
def test_one_step_of_every_recipe_is_finite_and_moves_both_players(name):
    recipe = gan_zoo.TOY_RECIPES[name]
    G, D = _players(recipe)
    opt_G, opt_D = recipe.optimizers(G, D)
    g0, d0 = _snapshot(G), _snapshot(D)
    stats = gan_zoo.zoo_step(G, D, opt_G, opt_D, _batches(), 4, d_loss=recipe.d_loss, g_loss=recipe.g_loss,
                             n_critic=recipe.n_critic, penalty=recipe.penalty())
    assert set(stats) == {"loss_D", "loss_G", "grad_D", "grad_G", "D_real", "D_fake"}
    assert all(torch.isfinite(v) for v in stats.values())
    assert all(_moved(g0, G)) and any(_moved(d0, D))


def test_d_optimizer_moves_only_d_and_g_optimizer_only_g():
    G, D = _players()
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    frozen = torch.optim.SGD(G.parameters(), lr=0.0)  # a G optimizer that cannot move: only D may change
    g0, d0 = _snapshot(G), _snapshot(D)
    gan_zoo.zoo_step(G, D, frozen, opt_D, _batches(), 4, d_loss=losses.d_loss, g_loss=losses.g_loss_nonsaturating)
    assert not any(_moved(g0, G)), "D's step changed G (is the fake batch detached?)"
    assert any(_moved(d0, D))
    d1 = _snapshot(D)
    frozen_D = torch.optim.SGD(D.parameters(), lr=0.0)
    gan_zoo.zoo_step(G, D, opt_G, frozen_D, _batches(), 4, d_loss=losses.d_loss, g_loss=losses.g_loss_nonsaturating)
    assert not any(_moved(d1, D)) and any(_moved(g0, G))


def test_n_critic_counts_d_steps_and_batches():
    G, D = _players()
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.0), torch.optim.SGD(D.parameters(), lr=0.0)
    calls = {"D": 0, "batches": 0}
    orig = D.forward
    D.forward = lambda x: (calls.__setitem__("D", calls["D"] + 1), orig(x))[1]
    src = _batches()

    def counted():
        calls["batches"] += 1
        return next(src)

    gan_zoo.zoo_step(G, D, opt_G, opt_D, iter(counted, None), 4, d_loss=losses.d_loss_wgan,
                     g_loss=losses.g_loss_wgan, n_critic=5)
    assert calls["batches"] == 5  # a fresh real batch per critic step
    assert calls["D"] == 5 * 2 + 1  # real and fake per critic step, then one pass for G


def test_penalty_enters_d_loss():
    G, D = _players()
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.0), torch.optim.SGD(D.parameters(), lr=0.0)
    torch.manual_seed(1)
    plain = gan_zoo.zoo_step(G, D, opt_G, opt_D, _batches(), 4, d_loss=losses.d_loss_wgan, g_loss=losses.g_loss_wgan)
    torch.manual_seed(1)
    with_gp = gan_zoo.zoo_step(G, D, opt_G, opt_D, _batches(), 4, d_loss=losses.d_loss_wgan, g_loss=losses.g_loss_wgan,
                               penalty=lambda D_, r, f: 1000.0 + 0 * losses.gradient_penalty(D_, r, f))
    assert float(with_gp["loss_D"]) == pytest.approx(float(plain["loss_D"]) + 1000.0, rel=1e-5)


def test_recipe_penalties_and_ttur():
    r = gan_zoo.Recipe("x", loss="wgan", gp=10.0, lr_G=1e-4, lr_D=4e-4)
    lin = nn.Linear(3, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 3.0, 0.0]]))
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    assert float(r.penalty()(lin, real, fake).detach()) == pytest.approx(10 * 4.0)  # λ (||w|| - 1)²
    assert float(gan_zoo.Recipe("y", r1=2.0).penalty()(lin, real, fake).detach()) == pytest.approx(0.5 * 2 * 9.0)
    G, D = _players()
    opt_G, opt_D = r.optimizers(G, D)
    assert opt_G.param_groups[0]["lr"] == 1e-4 and opt_D.param_groups[0]["lr"] == 4e-4
    assert opt_D.param_groups[0]["betas"] == (0.0, 0.9)
    assert gan_zoo.Recipe("z").penalty() is None


def test_grad_norm():
    lin = nn.Linear(2, 1)
    assert float(gan_zoo.grad_norm(lin)) == 0.0
    lin.weight.grad, lin.bias.grad = torch.tensor([[3.0, 0.0]]), torch.tensor([4.0])
    assert float(gan_zoo.grad_norm(lin)) == pytest.approx(5.0)


@pytest.mark.parametrize("name", ["non-saturating", "hinge + SN", "WGAN-GP", "NS + R1 + TTUR"])
def test_seed_k_of_the_batch_trains_as_seed_k_alone(name):
    """Seeds as one batch: seed k's weights after training with seeds [3, 7, 11] equal those of seed k trained
    alone (block-diagonal layers, loss summed over seeds, element-wise Adam, per-seed streams, SN per seed)."""
    recipe, mix = gan_zoo.TOY_RECIPES[name], data.grid()
    kw = dict(steps=6, batch_size=16, z_dim=2, hidden=8, log_every=3, progress=False)
    Gb, _, logs_b = gan_zoo.train_toy_seeds(recipe, mix, seeds=[3, 7, 11], **kw)
    G1, _, logs_1 = gan_zoo.train_toy_seeds(recipe, mix, seeds=[7], **kw)
    for (key, pb), p1 in zip(Gb.named_parameters(), G1.parameters()):
        torch.testing.assert_close(pb[1], p1[0], rtol=1e-4, atol=1e-5, msg=f"{name}: G's {key} of seed 7 differs")
    for key in logs_1[0][-1]:
        assert logs_b[1][-1][key] == pytest.approx(logs_1[0][-1][key], rel=1e-3, abs=1e-4), key
    samples = gan_zoo.sample_seeds(Gb, 10)
    assert samples.shape == (3, 10, 2)
    torch.testing.assert_close(samples[1], gan_zoo.sample_seeds(G1, 10)[0], rtol=1e-4, atol=1e-5)


def test_seeds_differ_and_seed_spectral_norm_normalises_each_seed():
    from course_lib.models.mlp import SeedDiscriminator, SeedLinear

    D = SeedDiscriminator(seeds=[0, 1], in_shape=(2,), hidden=(16, 16), spectral_norm=True)
    D(torch.randn(2 * 8, 2))
    for m in D.net:
        if isinstance(m, SeedLinear):
            sigma = torch.linalg.matrix_norm(m.weight.detach(), ord=2)  # (S,)
            torch.testing.assert_close(sigma, torch.ones(2), rtol=1e-2, atol=1e-2)
            assert not torch.equal(m.parametrizations.weight.original[0], m.parametrizations.weight.original[1])


def test_seed_linear_is_block_diagonal():
    from course_lib.models.mlp import SeedLinear

    lin = SeedLinear(3, 4, generators=[torch.Generator().manual_seed(s) for s in (0, 1)])
    x = torch.randn(2 * 5, 3)  # (S·B, in)
    want = torch.cat([x[:5] @ lin.weight[0].T + lin.bias[0], x[5:] @ lin.weight[1].T + lin.bias[1]])
    torch.testing.assert_close(lin(x), want)


def test_grad_norm_per_seed():
    from course_lib.models.mlp import SeedLinear

    lin = SeedLinear(2, 1, generators=[torch.Generator().manual_seed(s) for s in (0, 1)])
    lin.weight.grad = torch.tensor([[[3.0, 0.0]], [[0.0, 0.0]]])
    lin.bias.grad = torch.tensor([[4.0], [1.0]])
    torch.testing.assert_close(gan_zoo.grad_norm(lin, seeds=2), torch.tensor([5.0, 1.0]))


def test_bench_reports_the_cost_of_seeds_as_one_batch(tmp_path):
    import json

    from course_lib import gpu_check

    out = tmp_path / "toy.json"
    assert gpu_check.bench(["--toy-seeds", "3", "--steps", "2", "--warmup", "1", "--batch-size", "8",
                           "--out", str(out)]) == 0
    row = json.loads(out.read_text())
    assert row["seeds"] == 3 and row["ratio"] > 0 and row["s_per_g_step_1"] > 0
