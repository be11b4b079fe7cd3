"""Chapter 04: priors, the two AAE phases, and the latent-space measures."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib import priors
from course_lib.models import aae

N = 40_000


def g(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------------------------------------
# Priors
# ----------------------------------------------------------------------------------------------------------

def test_gaussian_prior_moments():
    z = priors.gaussian().sample(N, g())
    assert z.shape == (N, 2)
    torch.testing.assert_close(z.mean(0), torch.zeros(2), atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(z.T), torch.eye(2), atol=0.03, rtol=0)
    with pytest.raises(ValueError):
        priors.gaussian().sample(4, labels=torch.zeros(4, dtype=torch.long))


def test_mixture_weights_and_component_moments():
    p = priors.mixture()
    z = p.sample(N, g())
    # each sample belongs to the component whose direction is nearest: its angular sector
    angle = torch.atan2(z[:, 1], z[:, 0]) % (2 * math.pi)
    comp = torch.round(angle / (2 * math.pi / 10)).long() % 10
    weights = torch.bincount(comp, minlength=10).float() / N
    torch.testing.assert_close(weights, torch.full((10,), 0.1), atol=0.01, rtol=0)
    # conditioned on a label, the samples have the component's mean and its radial / tangential spread
    k = 3
    zk = p.sample(N, g(1), labels=torch.full((N,), k))
    torch.testing.assert_close(zk.mean(0), p.centers()[k], atol=0.02, rtol=0)
    a = p.angles()[k]
    radial = zk @ torch.stack([a.cos(), a.sin()])
    tangential = zk @ torch.stack([-a.sin(), a.cos()])
    assert abs(radial.std() - p.radial_std) < 0.01 and abs(tangential.std() - p.tangential_std) < 0.005


def test_mixture_log_prob_integrates_to_one():
    p = priors.mixture()
    t = torch.linspace(-4, 4, 801)
    gx, gy = torch.meshgrid(t, t, indexing="xy")
    dens = p.log_prob(torch.stack([gx.flatten(), gy.flatten()], 1)).exp()
    assert abs(float(dens.sum()) * (t[1] - t[0]) ** 2 - 1) < 1e-3


def test_swiss_roll_is_uniform_along_the_roll_and_respects_labels():
    p = priors.swiss_roll()
    z = p.sample(N, g())
    r = z.norm(dim=1)
    u = (r / p.scale) ** 2  # invert r = scale * sqrt(u): u must be U(0, 1)
    hist = torch.histc(u, bins=10, min=0, max=1) / N
    torch.testing.assert_close(hist, torch.full((10,), 0.1), atol=0.01, rtol=0)
    # the angle is a function of the radius: every point lies on the spiral
    angle = p.turns * 2 * math.pi * u.sqrt()
    on_curve = p.scale * u.sqrt()[:, None] * torch.stack([angle.cos(), angle.sin()], 1)
    torch.testing.assert_close(z, on_curve, atol=1e-4, rtol=0)
    # label k -> the k-th tenth of the roll
    zk = p.sample(1000, g(2), labels=torch.full((1000,), 7))
    uk = (zk.norm(dim=1) / p.scale) ** 2
    assert uk.min() >= 0.7 - 1e-5 and uk.max() <= 0.8 + 1e-5
    with pytest.raises(ValueError):
        p.sample(3, labels=torch.tensor([0, 1, 10]))


# ----------------------------------------------------------------------------------------------------------
# The two phases update exactly the networks they should
# ----------------------------------------------------------------------------------------------------------

def _tiny(n_classes=0):
    torch.manual_seed(0)
    E, Dec, D = aae.build(in_shape=(1, 4, 4), z_dim=2, hidden=16, n_classes=n_classes)
    return E, Dec, D, aae.optimizers(E, Dec, D, lr_ae=1e-2, lr_adv=1e-2)


def _snap(m):
    return [p.detach().clone() for p in m.parameters()]


def _moved(m, before):
    return any(not torch.equal(p, q) for p, q in zip(m.parameters(), before))


def test_reconstruction_phase_moves_E_and_Dec_only():
    E, Dec, D, opts = _tiny()
    x = torch.rand(8, 1, 4, 4) * 2 - 1
    s = {m: _snap(m) for m in (E, Dec, D)}
    aae.reconstruction_phase(E, Dec, x, opts["AE"])
    assert _moved(E, s[E]) and _moved(Dec, s[Dec]) and not _moved(D, s[D])


@pytest.mark.parametrize("supervised", [False, True])
def test_regularization_phase_moves_D_then_E_and_never_Dec(supervised):
    E, Dec, D, opts = _tiny(n_classes=10 if supervised else 0)
    x = torch.rand(8, 1, 4, 4) * 2 - 1
    labels = torch.arange(8) if supervised else None
    prior = priors.mixture()
    # D step alone: only D moves
    z_prior = prior.sample(8, labels=labels)
    sE, sDec, sD = _snap(E), _snap(Dec), _snap(D)
    from course_lib import train
    train.d_step(D, aae.with_label(z_prior, labels, 10), aae.with_label(E(x), labels, 10), opts["D"])
    assert _moved(D, sD) and not _moved(E, sE) and not _moved(Dec, sDec)
    # the whole phase: D and E move, Dec does not
    sE, sDec, sD = _snap(E), _snap(Dec), _snap(D)
    stats = aae.regularization_phase(E, D, x, prior, opts["D"], opts["E"], labels)
    assert _moved(D, sD) and _moved(E, sE) and not _moved(Dec, sDec)
    assert {"loss_D", "loss_G", "D_real", "D_fake"} <= set(stats)


def test_regularization_losses_have_the_right_signs():
    """The prior is 'real': on fixed D logits the phase's D loss equals BCE(prior -> 1, codes -> 0), and the
    encoder loss is -log D(E(x)), which falls as D is fooled (the source document has these swapped)."""
    E, Dec, D, _ = _tiny()
    x = torch.rand(8, 1, 4, 4) * 2 - 1
    opt_D, opt_E = torch.optim.SGD(D.parameters(), lr=0.0), torch.optim.SGD(E.parameters(), lr=0.0)  # frozen
    torch.manual_seed(5)
    z_prior = priors.gaussian().sample(8)
    real_l, fake_l = D(z_prior), D(E(x))
    want_D = -torch.log(torch.sigmoid(real_l)).mean() - torch.log(1 - torch.sigmoid(fake_l)).mean()
    want_E = -torch.log(torch.sigmoid(fake_l)).mean()
    torch.manual_seed(5)
    stats = aae.regularization_phase(E, D, x, priors.gaussian(), opt_D, opt_E)
    torch.testing.assert_close(stats["loss_D"], want_D.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(stats["loss_G"], want_E.detach(), atol=1e-5, rtol=1e-5)


def test_aae_pulls_codes_towards_the_prior():
    """A few hundred regularisation steps on a fixed batch move the codes' distribution to N(0, I)."""
    torch.manual_seed(0)
    E, Dec, D = aae.build(in_shape=(1, 4, 4), z_dim=2, hidden=32)
    opts = aae.optimizers(E, Dec, D, lr_adv=2e-3)
    x = torch.rand(256, 1, 4, 4) * 2 - 1
    with torch.no_grad():
        E.net[-1].weight.mul_(0.01)
        E.net[-1].bias.fill_(5.0)  # codes start far from the prior, near (5, 5)
    prior = priors.gaussian()
    ref = prior.sample(2000, g(9))
    before = aae.energy_distance(aae.encode(E, x), ref)
    for _ in range(300):
        aae.regularization_phase(E, D, x, prior, opts["D"], opts["E"])
    after = aae.energy_distance(aae.encode(E, x), ref)
    assert before > 5 and after < 0.2 * before, (before, after)


# ----------------------------------------------------------------------------------------------------------
# Latent measures
# ----------------------------------------------------------------------------------------------------------

def test_energy_distance_known_values():
    a = torch.randn(2000, 2, generator=g(0))
    b = torch.randn(2000, 2, generator=g(1))
    assert abs(aae.energy_distance(a, b)) < 0.01
    # two point masses at distance d: 2d - 0 - 0
    p, q = torch.zeros(10, 2), torch.zeros(10, 2) + torch.tensor([3.0, 4.0])
    assert aae.energy_distance(p, q) == pytest.approx(10.0)
    # a shift by s in 1-D Gaussians: grows with s
    e1 = aae.energy_distance(a, b + torch.tensor([0.5, 0.0]))
    e2 = aae.energy_distance(a, b + torch.tensor([2.0, 0.0]))
    assert 0.05 < e1 < e2


def test_energy_coefficient_is_scale_free_and_bounded():
    a = torch.randn(1500, 2, generator=g(0))
    b = torch.randn(1500, 2, generator=g(1)) * 0.5 + torch.tensor([1.0, 0.0])
    h = aae.energy_coefficient(a, b)
    assert 0.0 < h < 1.0
    assert aae.energy_coefficient(3 * a, 3 * b) == pytest.approx(h, rel=1e-6)  # same mismatch, 3x the scale
    assert aae.energy_distance(3 * a, 3 * b) == pytest.approx(3 * aae.energy_distance(a, b), rel=1e-6)
    assert abs(aae.energy_coefficient(a, torch.randn(1500, 2, generator=g(2)))) < 0.01
    # two point masses: E = 2d, E|X - Y| = d, so H = 1
    assert aae.energy_coefficient(torch.zeros(10, 2), torch.ones(10, 2)) == pytest.approx(1.0)


def test_standardize_whitens():
    z = torch.randn(5000, 2, generator=g(0)) @ torch.tensor([[3.0, 0.0], [2.0, 0.5]]) + 7
    w = aae.standardize(z)
    torch.testing.assert_close(w.mean(0), torch.zeros(2), atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.cov(w.T), torch.eye(2), atol=1e-4, rtol=0)


def test_knn_accuracy_hand_computed():
    train_z = torch.tensor([[0.0, 0], [0.1, 0], [5, 5], [5.1, 5], [5, 5.1]])
    train_y = torch.tensor([0, 0, 1, 1, 1])
    test_z = torch.tensor([[0.05, 0], [5.05, 5.05], [0.0, 0.1]])
    assert aae.knn_accuracy(train_z, train_y, test_z, torch.tensor([0, 1, 0]), k=1) == 1.0
    assert aae.knn_accuracy(train_z, train_y, test_z, torch.tensor([0, 1, 1]), k=1) == pytest.approx(2 / 3)
    # k=5 sees every point: the majority (class 1) wins everywhere
    assert aae.knn_accuracy(train_z, train_y, test_z, torch.tensor([1, 1, 1]), k=5) == 1.0


def test_decode_lattice_layout():
    Dec = aae.Decoder(out_shape=(1, 2, 2), z_dim=2, hidden=4)
    seen = []
    Dec.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    aae.decode_lattice(Dec, lim=1.0, n=3)
    z = seen[0]
    torch.testing.assert_close(z[0], torch.tensor([-1.0, 1.0]))  # top-left: small z1, large z2
    torch.testing.assert_close(z[-1], torch.tensor([1.0, -1.0]))


def test_course_train_aae_runs_and_resumes(tmp_path, monkeypatch):
    from course_lib.recipes.aae import main
    from course_lib.runlog import read_log

    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    args = ["--prior", "mixture", "--n-train", "256", "--batch-size", "32", "--hidden", "16", "--ckpt-every", "3",
            "--log-every", "1"]
    assert main([*args, "--steps", "3", "--run-dir", str(tmp_path / "r")]) == 0
    assert main([*args, "--steps", "6", "--run-dir", str(tmp_path / "r")]) == 0  # resumes at step 3
    rows = read_log(tmp_path / "r" / "metrics.jsonl")
    assert [r["step"] for r in rows if "loss_rec" in r] == [1, 2, 3, 4, 5, 6]
    assert "energy_distance" in rows[-1] and (tmp_path / "r" / "samples" / "step_0000006.png").exists()
