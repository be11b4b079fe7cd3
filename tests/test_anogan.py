"""AnoGAN, f-AnoGAN and the MAE score: losses on known inputs, the search lowers its loss, ROC / AUROC against
hand-computed cases; the chapter 12 checks pass on solutions and fail on wrong answers."""

from __future__ import annotations

import pytest
import torch

from course_lib.checks import ch12
from course_lib.course.exercises import ExerciseNotDone
from course_lib.models import anogan, dcgan
from course_lib.models.mae import MAE



def test_auroc_hand_computed():
    s = torch.tensor([0.1, 0.4, 0.35, 0.8])
    a = torch.tensor([0, 0, 1, 1])
    assert anogan.auroc(s, a) == pytest.approx(0.75)  # 3 of the 4 (anomaly, normal) pairs are ordered right
    assert anogan.auroc(-s, a) == pytest.approx(0.25)
    assert anogan.auroc(torch.tensor([1.0, 1.0, 1.0, 1.0]), a) == pytest.approx(0.5)  # all tied
    # one tie between an anomaly and a normal: (3 + 0.5) / 4
    assert anogan.auroc(torch.tensor([0.1, 0.4, 0.4, 0.8]), a) == pytest.approx(3.5 / 4)


def test_auroc_equals_mann_whitney_on_random_scores_with_ties():
    g = torch.Generator().manual_seed(0)
    s = torch.randint(0, 8, (500,), generator=g).float()
    a = (torch.rand(500, generator=g) < 0.4).long()
    pos, neg = s[a == 1], s[a == 0]
    want = ((pos[:, None] > neg).double().mean() + 0.5 * (pos[:, None] == neg).double().mean()).item()
    assert anogan.auroc(s, a) == pytest.approx(want, abs=1e-12)


def test_roc_curve_endpoints_and_threshold():
    s = torch.tensor([0.1, 0.4, 0.35, 0.8])
    a = torch.tensor([0, 0, 1, 1])
    fpr, tpr, thr = anogan.roc_curve(s, a)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert torch.all(fpr[1:] >= fpr[:-1]) and torch.all(tpr[1:] >= tpr[:-1])
    # Youden's J: t = 0.35 catches both anomalies with one false alarm (J = 0.5); t = 0.8 gives J = 0.5 too,
    # the first maximum (the higher threshold) wins
    t = anogan.choose_threshold(s, a)
    assert t == pytest.approx(0.8)
    cm = anogan.confusion_matrix(s, a, 0.35)
    assert cm.tolist() == [[1, 1], [0, 2]]  # rows truth (normal, anomaly), columns decision
    with pytest.raises(ValueError):
        anogan.roc_curve(s, torch.zeros(4))


def test_anogan_loss_values():
    x = torch.zeros(2, 1, 2, 2)
    Gz = torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 2]).reshape(2, 1, 2, 2)
    fx, fGz = torch.zeros(2, 3), torch.tensor([[3.0, 0, 0], [0, 0, 0]])
    loss = anogan.anogan_loss(x, Gz, fx, fGz, lam=0.1)
    # image 0: residual mean 1, feature mean 1 -> 0.9 + 0.1; image 1: residual 0.5, feature 0 -> 0.45
    torch.testing.assert_close(loss, torch.tensor([1.0, 0.45]))


def test_d_features_is_the_last_hidden_layer():
    G, D = dcgan.build(z_dim=8, width=4)
    D.eval()
    x = G(torch.randn(3, 8))
    f = anogan.d_features(D, x)
    assert f.shape == (3, 2 * 4 * 7 * 7)
    torch.testing.assert_close(D.net[-1](D.net[-2](f.reshape(3, 8, 7, 7))), D(x))  # the head applied to f is D


def test_latent_search_decreases_its_loss_and_recovers_a_reachable_image():
    torch.manual_seed(0)
    G, D = dcgan.build(z_dim=8, width=4)
    G.eval(), D.eval()
    with torch.no_grad():
        x = G(torch.randn(4, 8))  # images G can produce exactly
    z, score, hist = anogan.latent_search(G, D, x, steps=150, lr=0.05, generator=torch.Generator().manual_seed(1))
    assert z.shape == (4, 8) and score.shape == (4,) and hist.shape == (150,)
    assert hist[-1] < 0.5 * hist[0]
    assert all(p.requires_grad for p in G.parameters()) and G.training is False  # frozen only during the search
    # batched = one image at a time: the images do not interact (checked over a few steps, before float
    # rounding differences between batched and single convolutions have been amplified by Adam)
    z0 = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    z1, s1, _ = anogan.latent_search(G, D, x[:1], steps=5, lr=0.05, z0=z0[:1])
    z4, s4, _ = anogan.latent_search(G, D, x, steps=5, lr=0.05, z0=z0)
    torch.testing.assert_close(z4[:1], z1, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(s4[:1], s1, atol=1e-5, rtol=1e-4)


def test_encoder_training_moves_only_the_encoder():
    torch.manual_seed(0)
    G, D = dcgan.build(z_dim=8, width=4)
    E = anogan.Encoder(z_dim=8, width=4)
    x = torch.rand(16, 1, 28, 28) * 2 - 1
    g0 = [p.clone() for p in G.parameters()]
    d0 = [p.clone() for p in D.parameters()]
    hist = anogan.train_encoder(E, G, D, iter(lambda: x, None), steps=30, lr=1e-3, progress=False)
    assert hist[-1] < hist[0]
    assert all(torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(d0, D.parameters()))
    s = anogan.izif_score(x, G, D, E)
    torch.testing.assert_close(s, anogan.izif_loss(x, G, D, E).detach())


def test_mae_score_is_deterministic_and_higher_for_unseen_images():
    torch.manual_seed(0)
    mae = MAE(img_size=8, patch_size=4, in_chans=1, dim=16, depth=1, heads=1, dec_dim=16, dec_depth=1, dec_heads=1)
    normal = -torch.ones(32, 1, 8, 8)  # a black image: what the MAE is trained on
    anogan.train_mae(mae, iter(lambda: normal, None), steps=100, lr=3e-3, progress=False)
    odd = torch.ones(4, 1, 8, 8)
    s_norm, s_odd = anogan.mae_score(mae, normal[:4]), anogan.mae_score(mae, odd)
    torch.testing.assert_close(s_norm, anogan.mae_score(mae, normal[:4]))
    assert s_odd.min() > 10 * s_norm.max()


def test_one_class_split():
    x = torch.arange(10).float()[:, None]
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    xv, av, xt, at = anogan.one_class_split(x, y, normal=0)
    assert len(xv) == len(xt) == 5
    assert sorted(torch.cat([xv, xt]).flatten().tolist()) == list(range(10))
    torch.testing.assert_close(torch.cat([av, at]), (y[torch.cat([xv, xt]).flatten().long()] != 0).long())


def _auroc_solution(s, a):
    pos, neg = s[a == 1], s[a == 0]
    return ((pos[:, None] > neg).double().mean() + 0.5 * (pos[:, None] == neg).double().mean()).item()


def stub(*args):
    raise NotImplementedError


def test_auroc_check():
    ch12.auroc_pairs(_auroc_solution)
    ch12.auroc_pairs(anogan.auroc)
    with pytest.raises(ExerciseNotDone):
        ch12.auroc_pairs(stub)
    for wrong in (lambda s, a: 1 - _auroc_solution(s, a),
                  lambda s, a: ((s[a == 1][:, None] > s[a == 0]).double().mean()).item(),  # ties ignored
                  lambda s, a: ((s[a == 1][:, None] >= s[a == 0]).double().mean()).item()):  # ties counted 1
        with pytest.raises(AssertionError):
            ch12.auroc_pairs(wrong)


def test_anogan_loss_check():
    ch12.anogan_loss(anogan.anogan_loss)
    with pytest.raises(ExerciseNotDone):
        ch12.anogan_loss(stub)
    for wrong in (lambda x, g, fx, fg, lam: lam * (x - g).abs().flatten(1).mean(1) + (1 - lam) * (fx - fg).abs().mean(1),
                  lambda x, g, fx, fg, lam: ((x - g).abs().flatten(1).mean(1) + lam * (fx - fg).abs().mean(1)),
                  lambda x, g, fx, fg, lam: anogan.anogan_loss(x, g, fx, fg, lam).mean()):
        with pytest.raises(AssertionError):
            ch12.anogan_loss(wrong)


def test_anogan_loss_check_names_the_papers_sum():
    def summed(x, g, fx, fg, lam):
        return (1 - lam) * (x - g).abs().flatten(1).sum(1) + lam * (fx - fg).abs().sum(1)

    with pytest.raises(AssertionError, match="the paper sums"):
        ch12.anogan_loss(summed)
