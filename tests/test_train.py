import torch

from course_lib import data, losses, train
from course_lib.models.mlp import Discriminator, Generator


def _pair(seed=0):
    torch.manual_seed(seed)
    G = Generator(z_dim=3, out_shape=(2,), hidden=(16, 16))
    D = Discriminator(in_shape=(2,), hidden=(16, 16))
    return G, D, torch.optim.Adam(G.parameters(), 1e-2), torch.optim.Adam(D.parameters(), 1e-2)


def _snap(m):
    return [p.detach().clone() for p in m.parameters()]


def _changed(before, m):
    return [not torch.equal(a, b) for a, b in zip(before, m.parameters())]


def test_d_step_moves_only_D_and_g_step_moves_only_G():
    G, D, oG, oD = _pair()
    real = torch.randn(32, 2)
    fake = G(torch.randn(32, 3))
    g0, d0 = _snap(G), _snap(D)
    train.d_step(D, real, fake, oD)
    assert not any(_changed(g0, G)) and all(_changed(d0, D))
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in G.parameters())  # fake was detached
    g0, d0 = _snap(G), _snap(D)
    train.g_step(D, G(torch.randn(32, 3)), oG)
    assert all(_changed(g0, G)) and not any(_changed(d0, D))


def test_g_step_gives_D_no_weight_gradient_and_unfreezes_it_after():
    G, D, oG, _ = _pair()
    D.zero_grad(set_to_none=True)
    train.g_step(D, G(torch.randn(16, 3)), oG)
    assert all(p.grad is None for p in D.parameters())
    assert all(p.grad is not None for p in G.parameters())
    assert all(p.requires_grad for p in D.parameters())
    # and G's gradient is the same as through an unfrozen D
    fake = G(torch.randn(16, 3))
    oG.zero_grad()
    losses.g_loss_nonsaturating(D(fake)).backward(retain_graph=True)
    want = [p.grad.clone() for p in G.parameters()]
    train.g_step(D, fake, torch.optim.SGD(G.parameters(), lr=0.0))
    for p, w in zip(G.parameters(), want):
        torch.testing.assert_close(p.grad, w)


def test_d_step_lowers_its_loss_and_reports_probabilities():
    G, D, _, oD = _pair()
    real, fake = torch.randn(64, 2) + 3, torch.randn(64, 2) - 3
    first = train.d_step(D, real, fake, oD)
    for _ in range(30):
        last = train.d_step(D, real, fake, oD)
    assert last["loss_D"] < first["loss_D"]
    assert last["D_real"] > 0.9 and last["D_fake"] < 0.1


def test_gan_step_is_d_step_then_g_step_through_the_updated_D():
    Ga, Da, oGa, oDa = _pair(1)
    Gb, Db, oGb, oDb = _pair(1)
    real = torch.randn(16, 2)
    torch.manual_seed(5)
    train.gan_step(Ga, Da, oGa, oDa, real, z_dim=3)
    torch.manual_seed(5)
    z = torch.randn(16, 3)
    fake = Gb(z)
    oDb.zero_grad()
    losses.d_loss(Db(real), Db(fake.detach())).backward()
    oDb.step()
    oGb.zero_grad()
    losses.g_loss_nonsaturating(Db(fake)).backward()
    oGb.step()
    for a, b in zip(list(Ga.parameters()) + list(Da.parameters()), list(Gb.parameters()) + list(Db.parameters())):
        torch.testing.assert_close(a, b)


def test_trained_discriminator_approaches_the_optimal_one():
    """D*(x) = p_data / (p_data + p_g) for a fixed generator distribution (Goodfellow et al. 2014, Prop. 1)."""
    torch.manual_seed(0)
    p_data, p_g = data.mixture_1d((-2.0, 2.0), std=0.5), data.Mixture(torch.tensor([[0.5]]), std=1.5)
    D = Discriminator(in_shape=(1,), hidden=(64, 64))
    opt = torch.optim.Adam(D.parameters(), 2e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(600):
        train.d_step(D, p_data.sample(512, gen), p_g.sample(512, gen), opt)
    x = torch.linspace(-4, 4, 161).unsqueeze(1)
    d_star = p_data.pdf(x) / (p_data.pdf(x) + p_g.pdf(x))
    with torch.no_grad():
        d = torch.sigmoid(D(x))[:, 0]
    support = (p_data.pdf(x) + p_g.pdf(x)) > 0.05
    err = (d - d_star).abs()[support]
    assert err.mean() < 0.05 and err.max() < 0.2, (err.mean(), err.max())


def test_autocast_is_bf16_on_cuda_only():
    ctx = train.autocast(torch.device("cpu"))()
    with ctx:
        y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.float32
    assert train.get_device("cpu").type == "cpu"


def test_frozen_freezes_every_module_given_and_restores_only_what_it_froze():
    G, D, _, _ = _pair()
    already = next(G.parameters())
    already.requires_grad_(False)  # frozen before the block: must stay frozen after it
    with train.frozen(G, None, D):  # None: a step without D (pix2pix's L1-only ablation)
        assert not any(p.requires_grad for p in [*G.parameters(), *D.parameters()])
    assert not already.requires_grad
    assert all(p.requires_grad for p in [*list(G.parameters())[1:], *D.parameters()])


def test_frozen_refuses_a_function_of_D_instead_of_D():
    import functools

    import pytest

    _, D, _, _ = _pair()
    with pytest.raises(TypeError, match="pass D"):
        with train.frozen(functools.partial(D)):
            pass


def test_update_clears_old_gradients_then_steps():
    lin = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    opt = torch.optim.SGD(lin.parameters(), lr=0.5)
    lin.weight.grad = torch.full_like(lin.weight, 100.0)  # a stale gradient: must not enter the step
    train.update(opt, lin(torch.tensor([[1.0, 2.0]])).sum())  # d/dw = x = (1, 2)
    assert torch.equal(lin.weight.detach(), torch.tensor([[0.5, 0.0]]))
