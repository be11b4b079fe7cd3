"""MAE meets GAN: an adversarial MAE, and the MAE decoder used as a GAN generator.

(a) Adversarial MAE (source 002 §4): the decoder is the generator, a discriminator judges the reconstructed images,
    L_G = L_rec + lambda_1 L_perc + lambda_2 L_adv.
(b) Source 000's recipe: the MAE decoder, fed from noise in its own token space, trained as a GAN generator against
    a new discriminator (the encoder is frozen and unused at sampling time).

Dimension key: B batch, C channels, H/W image side, N patches, K noise tokens (visible slots), D encoder width,
Z = (1 + K) * D noise size, X = P*P*C values per patch.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses, train
from .mae import MAE, Decoder, paste_visible, unpatchify

# ----------------------------------------------------------------------------------------------------------
# Discriminator for 28x28 (or 32x32) images
# ----------------------------------------------------------------------------------------------------------


class Discriminator(nn.Module):
    """Two strided 4x4 convolutions and a linear layer: x (B, C, H, W) -> one logit (B, 1)."""

    def __init__(self, *, in_chans: int = 1, width: int = 32, img_size: int = 28):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_chans, width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, W, H/2, W/2)
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 2W, H/4, W/4)
        )
        self.out = nn.Linear(2 * width * (img_size // 4) ** 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.net(x).flatten(1))  # (B, 1)


# ----------------------------------------------------------------------------------------------------------
# (a) Adversarial MAE
# ----------------------------------------------------------------------------------------------------------


def reconstruction(mae: MAE, real: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None):
    """(loss_rec, image with the visible patches pasted back and predicted masked patches (B, C, H, W))."""
    loss_rec, pred, mask = mae(real, mask_ratio, generator)  # pred (B, N, X), mask (B, N)
    return loss_rec, paste_visible(real, pred, mask, mae.patch_size)  # (B, C, H, W)


def perceptual_loss(phi: Callable[[torch.Tensor], torch.Tensor], fake: torch.Tensor, real: torch.Tensor):
    """L_perc = mean ||phi(fake) - phi(real)||^2 on a frozen feature network phi."""
    return F.mse_loss(phi(fake), phi(real).detach())


def adversarial_mae_step(mae: MAE, D: nn.Module, opt_G: torch.optim.Optimizer, opt_D: torch.optim.Optimizer,
                         real: torch.Tensor, *, mask_ratio: float, lam_adv: float, lam_perc: float = 0.0,
                         phi: Callable | None = None, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """D step on (real, reconstruction), then the MAE step on L_rec + lam_perc L_perc + lam_adv L_adv."""
    with amp():
        loss_rec, fake = reconstruction(mae, real, mask_ratio)  # (B, C, H, W)
    loss_D = train.d_step(D, real, fake, opt_D, amp=amp)["loss_D"]  # D sees fake.detach(): it moves D only
    with amp(), train.frozen(D):  # gradients flow through D to the MAE; D's weights get none
        loss_adv = losses.g_loss_nonsaturating(D(fake))  # through the updated D
        loss_G = loss_rec + lam_adv * loss_adv
        if lam_perc and phi is not None:
            loss_G = loss_G + lam_perc * perceptual_loss(phi, fake, real)
    train.update(opt_G, loss_G)
    return {"loss_D": loss_D, "loss_rec": loss_rec.detach(), "loss_adv": loss_adv.detach()}


@torch.no_grad()
def sharpness(x: torch.Tensor) -> torch.Tensor:
    """Per-image variance of the Laplacian (B,): high for crisp edges, low for blur."""
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], device=x.device)
    lap = F.conv2d(x.float(), k.expand(x.shape[1], 1, 3, 3).contiguous(), groups=x.shape[1])  # (B, C, H-2, W-2)
    return lap.flatten(1).var(dim=1)  # (B,)


# ----------------------------------------------------------------------------------------------------------
# (b) The MAE decoder as a GAN generator
# ----------------------------------------------------------------------------------------------------------


class DecoderGenerator(nn.Module):
    """G(z): z ~ N(0, I) of size Z = (1 + K) * D is read as a class token and K *latent tokens* in the encoder's
    output space (which ends in a LayerNorm, so before its learned scale and shift real latents are zero-mean,
    unit-variance per token);
    they are placed at K fixed patch positions, the decoder fills the other N - K with its mask token, and the
    predicted patches are assembled into an image. The decoder is used unchanged (its linear pixel output too)."""

    def __init__(self, decoder: Decoder, *, enc_dim: int, n_tokens: int, patch_size: int, in_chans: int,
                 seed: int = 0):
        super().__init__()
        self.decoder, self.enc_dim, self.n_tokens = decoder, enc_dim, n_tokens
        self.patch_size, self.in_chans = patch_size, in_chans
        self.z_dim = (1 + n_tokens) * enc_dim
        perm = torch.randperm(decoder.num_patches, generator=torch.Generator().manual_seed(seed))  # (N,)
        self.register_buffer("ids_restore", perm.argsort()[None])  # (1, N): slots 0..K-1 -> perm[:K]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        tokens = z.view(len(z), 1 + self.n_tokens, self.enc_dim)  # (B, 1 + K, D)
        pred = self.decoder(tokens, self.ids_restore.expand(len(z), -1))  # (B, N, X)
        return unpatchify(pred, self.patch_size, self.in_chans)  # (B, C, H, W)


def decoder_generator(mae: MAE, n_tokens: int, seed: int = 0) -> DecoderGenerator:
    """A generator built on `mae`'s decoder (shared, not copied: copy the MAE first to keep it)."""
    return DecoderGenerator(mae.decoder, enc_dim=mae.encoder.dim, n_tokens=n_tokens, patch_size=mae.patch_size,
                            in_chans=mae.in_chans, seed=seed)
