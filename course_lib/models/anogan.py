"""Anomaly detection with a GAN trained on normal data only (chapter 12).

    AnoGAN   (Schlegl et al., IPMI 2017): for a test image x, search the latent space of a DCGAN trained on
             normal images for the z whose G(z) is closest to x; what cannot be reached is anomalous.
    f-AnoGAN (Schlegl et al., MedIA 2019): replace the search by an encoder E trained so that G(E(x)) ≈ x
             ("izi_f" training); one forward pass per image instead of hundreds of backward passes.
    MAE      a masked autoencoder trained on normal images; the score is its masked-patch reconstruction error.

Labels follow the one-class protocol: 1 = anomaly (any other class), 0 = normal. A higher score means "more
anomalous" for every detector, so ROC curves and AUROC treat them alike.

Dimension key: B batch, Z latent size, C channels, H/W image side, F size of D's (flattened) feature layer,
T latent-search steps, K masks averaged by the MAE score.
"""

from __future__ import annotations

import torch
from torch import nn

from ..train import frozen, update
from .dcgan import Discriminator, init_weights

# ----------------------------------------------------------------------------------------------------------
# The one-class protocol
# ----------------------------------------------------------------------------------------------------------


def one_class_split(x_test: torch.Tensor, y_test: torch.Tensor, normal: int, *, val_fraction: float = 0.5,
                    seed: int = 0):
    """Split a labelled test set into validation and test halves, each with anomaly labels (1 = not `normal`).

    Returns (x_val, a_val, x_te, a_te). The validation half is where a threshold is chosen; the test half is
    only used to report the result of that choice."""
    a = (y_test != normal).long()  # (N,) 1 = anomaly
    perm = torch.randperm(len(x_test), generator=torch.Generator().manual_seed(seed))
    n_val = int(round(val_fraction * len(x_test)))
    iv, it = perm[:n_val], perm[n_val:]
    return x_test[iv], a[iv], x_test[it], a[it]


# ----------------------------------------------------------------------------------------------------------
# AnoGAN: latent optimisation
# ----------------------------------------------------------------------------------------------------------


def d_features(D: Discriminator, x: torch.Tensor) -> torch.Tensor:
    """f_D(x): D's last hidden activation (after its last LeakyReLU, before the final convolution), flattened.
    For the MNIST DCGAN that is the (B, 2w, 7, 7) map -> (B, F = 98w). AnoGAN's "discrimination loss"
    compares these features rather than D's scalar output (feature matching, Salimans et al. 2016)."""
    return D.net[:-2](x).flatten(1)  # (B, F)


def anogan_loss(x: torch.Tensor, Gz: torch.Tensor, f_x: torch.Tensor, f_Gz: torch.Tensor,
                lam: float = 0.1) -> torch.Tensor:
    """Per-image loss (B,) of Schlegl et al. 2017, eq. 5:

        L(z) = (1 - λ) · L_R(z) + λ · L_D(z),   L_R = |x - G(z)|₁,   L_D = |f_D(x) - f_D(G(z))|₁

    The paper sums absolute values; we average them (over pixels, over features) so that λ means the same for
    any image size or D width. λ = 0.1 as in the paper."""
    residual = (x - Gz).abs().flatten(1).mean(dim=1)  # (B,)
    discrimination = (f_x - f_Gz).abs().mean(dim=1)  # (B,)
    return (1 - lam) * residual + lam * discrimination  # (B,)


def latent_search(G: nn.Module, D: Discriminator, x: torch.Tensor, *, steps: int, lam: float = 0.1,
                  lr: float = 0.05, z0: torch.Tensor | None = None, generator: torch.Generator | None = None,
                  progress: bool = False):
    """z* = argmin_z L(z) for every image of the batch at once; returns (z* (B, Z), score (B,), history (T,)).

    Batched: the loss summed over the batch has, for each z_i, the gradient of its own L_i (the images do not
    interact), so one Adam step moves all B latents. G and D are frozen (eval mode, no parameter gradients).
    The anomaly score is A(x) = L(z*), the loss at the last step."""
    from tqdm.auto import tqdm

    was = G.training, D.training
    G.eval(), D.eval()
    z_dim = G.z_dim
    if z0 is None:
        z0 = torch.randn(len(x), z_dim, generator=generator)  # (B, Z)
    z = z0.clone().to(x.device).requires_grad_(True)  # (B, Z)
    opt = torch.optim.Adam([z], lr=lr)
    with torch.no_grad():
        f_x = d_features(D, x)  # (B, F): fixed target
    history = []
    try:
        with frozen(G, D):
            for _ in tqdm(range(steps), desc="latent search", disable=not progress, mininterval=1.0, leave=False):
                Gz = G(z)  # (B, C, H, W)
                loss = anogan_loss(x, Gz, f_x, d_features(D, Gz), lam)  # (B,)
                update(opt, loss.sum())  # sum, not mean: each z_i gets the gradient of its own L_i
                history.append(loss.detach().mean().item())
            with torch.no_grad():
                Gz = G(z)
                score = anogan_loss(x, Gz, f_x, d_features(D, Gz), lam)  # (B,)
    finally:
        G.train(was[0]), D.train(was[1])
    return z.detach(), score, torch.tensor(history)


# ----------------------------------------------------------------------------------------------------------
# f-AnoGAN: an encoder instead of the search
# ----------------------------------------------------------------------------------------------------------


class Encoder(nn.Module):
    """E: x (B, C, H, W) -> z (B, Z). DCGAN's discriminator body (strided convolutions, LeakyReLU) with Z outputs
    instead of one logit, and no BatchNorm so that E(x) does not depend on the rest of the batch."""

    def __init__(self, *, z_dim: int = 100, channels: int = 1, image_size: int = 28, width: int = 64):
        super().__init__()
        body = Discriminator(channels=channels, image_size=image_size, width=width, batchnorm=False)
        last = body.net[-2]  # the final convolution over the whole S0 x S0 map
        body.net[-2] = nn.Conv2d(last.in_channels, z_dim, last.kernel_size, 1, 0)  # (B, Z, 1, 1)
        self.net = body.net  # ends in Flatten: (B, Z)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, Z)


def izif_loss(x: torch.Tensor, G: nn.Module, D: Discriminator, E: Encoder, kappa: float = 1.0) -> torch.Tensor:
    """Per-image izi_f loss (B,) of f-AnoGAN (Schlegl et al. 2019, eq. 6), also its anomaly score (eq. 7):

        L_izif(x) = 1/n · ||x - G(E(x))||² + κ/n_d · ||f(x) - f(G(E(x)))||²

    (image → z → image, plus D's features). Only E is trained with it; G and D stay as the GAN left them."""
    x_rec = G(E(x))  # (B, C, H, W)
    residual = (x - x_rec).square().flatten(1).mean(dim=1)  # (B,)
    feature = (d_features(D, x) - d_features(D, x_rec)).square().mean(dim=1)  # (B,)
    return residual + kappa * feature  # (B,)


def train_encoder(E: Encoder, G: nn.Module, D: Discriminator, batches, *, steps: int, lr: float = 1e-4,
                  kappa: float = 1.0, progress: bool = True) -> list[float]:
    """Train E with izi_f on normal images; G and D frozen in eval mode. Returns the loss per step."""
    from tqdm.auto import tqdm

    G.eval(), D.eval()
    opt = torch.optim.Adam(E.parameters(), lr=lr, betas=(0.5, 0.999))
    E.train()
    history = []
    with frozen(G, D):
        for _ in tqdm(range(steps), desc="f-AnoGAN encoder", disable=not progress, mininterval=1.0, leave=False):
            loss = izif_loss(next(batches), G, D, E, kappa).mean()
            update(opt, loss)
            history.append(loss.item())
    E.eval()
    return history


@torch.no_grad()
def izif_score(x: torch.Tensor, G: nn.Module, D: Discriminator, E: Encoder, kappa: float = 1.0,
               batch_size: int = 512) -> torch.Tensor:
    """f-AnoGAN's anomaly score (B,), batched."""
    G.eval(), D.eval(), E.eval()
    return torch.cat([izif_loss(x[i:i + batch_size], G, D, E, kappa) for i in range(0, len(x), batch_size)])


# ----------------------------------------------------------------------------------------------------------
# MAE reconstruction score
# ----------------------------------------------------------------------------------------------------------


@torch.no_grad()
def mae_score(mae: nn.Module, x: torch.Tensor, *, mask_ratio: float = 0.75, n_masks: int = 4, seed: int = 0,
              batch_size: int = 512) -> torch.Tensor:
    """Masked-patch reconstruction error of an MAE trained on normal images, averaged over K random masks
    (seeded, so the score is a deterministic function of x): (B,)."""
    from .mae import masked_mse, patch_targets

    mae.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        total = torch.zeros(len(xb), device=xb.device)
        g = torch.Generator(device=xb.device).manual_seed(seed)
        target = patch_targets(xb, mae.patch_size, mae.norm_pix_loss)  # (B, N, X)
        for _ in range(n_masks):
            _, pred, mask = mae(xb, mask_ratio, g)  # (B, N, X), (B, N)
            total += masked_mse(pred.float(), target, mask, per_image=True)  # (B,)
        out.append(total / n_masks)
    return torch.cat(out)


# ----------------------------------------------------------------------------------------------------------
# ROC, AUROC, threshold, confusion matrix
# ----------------------------------------------------------------------------------------------------------


def roc_curve(scores: torch.Tensor, labels: torch.Tensor):
    """ROC of "anomaly if score ≥ t" over every distinct threshold t: (fpr, tpr, thresholds), each (M + 1,),
    starting at (0, 0) with t = +inf. Tied scores move both rates at once (a diagonal step)."""
    s, lab = scores.double().flatten(), labels.double().flatten()
    order = torch.argsort(s, descending=True)
    s, lab = s[order], lab[order]
    tp, fp = lab.cumsum(0), (1 - lab).cumsum(0)  # (N,)
    last_of_tie = torch.ones_like(s, dtype=torch.bool)
    last_of_tie[:-1] = s[1:] != s[:-1]  # keep the last index of each run of equal scores
    tp, fp, thr = tp[last_of_tie], fp[last_of_tie], s[last_of_tie]
    P, N = lab.sum(), (1 - lab).sum()
    if P == 0 or N == 0:
        raise ValueError("a ROC curve needs both normal (0) and anomalous (1) examples")
    zero = torch.zeros(1, dtype=torch.float64)
    fpr = torch.cat([zero, fp / N])
    tpr = torch.cat([zero, tp / P])
    return fpr, tpr, torch.cat([torch.full((1,), float("inf"), dtype=torch.float64), thr])


def auroc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve = P(score of a random anomaly > score of a random normal) + ½ P(tie)
    (the Mann-Whitney U statistic divided by P·N), computed by the trapezoidal rule on `roc_curve`."""
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(torch.trapezoid(tpr, fpr))


def choose_threshold(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """The threshold t maximising Youden's J = TPR - FPR for "anomaly if score ≥ t" (on validation data)."""
    fpr, tpr, thr = roc_curve(scores, labels)
    j = tpr - fpr
    j[0] = -1.0  # t = +inf flags nothing: never the answer
    return float(thr[int(torch.argmax(j))])


def confusion_matrix(scores: torch.Tensor, labels: torch.Tensor, threshold: float) -> torch.Tensor:
    """2 x 2 counts [[TN, FP], [FN, TP]]: rows = truth (normal, anomaly), columns = decision (score ≥ t)."""
    pred = (scores.flatten() >= threshold).long()
    truth = labels.flatten().long()
    return torch.bincount(2 * truth + pred, minlength=4).reshape(2, 2)


# ----------------------------------------------------------------------------------------------------------
# Training functions shared by the notebook and `course train anogan` (recipes/anogan.py)
# ----------------------------------------------------------------------------------------------------------


def train_mae(mae: nn.Module, batches, *, steps: int, lr: float = 1e-3, mask_ratio: float = 0.75,
              amp=None, progress: bool = True) -> list[float]:
    """Chapter 07's MAE objective on normal images (AdamW, masked-patch MSE). Returns the loss per step."""
    import contextlib

    from tqdm.auto import tqdm

    from .mae import pretrain_step

    amp = amp or contextlib.nullcontext
    opt = torch.optim.AdamW(mae.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.05)
    mae.train()
    history = []
    for _ in tqdm(range(steps), desc="MAE", disable=not progress, mininterval=1.0, leave=False):
        history.append(pretrain_step(mae, opt, next(batches), mask_ratio, amp).item())
    mae.eval()
    return history
