"""Pix2Pix: image-to-image translation with a conditional GAN (Isola, Zhu, Zhou, Efros 2017), chapter 09.

G is a U-Net: an encoder of stride-2 4x4 convolutions and a mirrored decoder of transposed convolutions, with a
skip connection that concatenates encoder layer i to the decoder layer of the same size, so low-level detail
(edges, positions) need not squeeze through the bottleneck. `skips=False` gives the plain encoder-decoder the
paper compares it with. D is a PatchGAN: a fully convolutional net scoring every N x N patch of the pair (x, y);
with 3 stride-2 layers its patches are 70 x 70 pixels (see `receptive_field`).

Objective (paper, eq. 4):   G* = arg min_G max_D  L_cGAN(G, D) + lambda * L_L1(G),   lambda = 100.

Dimension key:
    B batch    Cx channels of the input (condition) x    Cy channels of the target y    C feature channels
    S side of the (square) images    P side of D's map of patch scores
"""

from __future__ import annotations

import contextlib
import functools

import torch
from torch import nn

from .. import losses, train
from ..errors import ImageSizeError


class SizeError(ImageSizeError):
    """An input the U-Net cannot take (its side is not a multiple of 2**depth): a user error, one line from
    the command line."""


# ----------------------------------------------------------------------------------------------------------
# Generator: U-Net (skips=True) or encoder-decoder (skips=False)
# ----------------------------------------------------------------------------------------------------------


class UNet(nn.Module):
    """x (B, Cx, S, S) -> y (B, Cy, S, S) in [-1, 1], with S a multiple of 2**depth.

    Encoder (paper appendix 6.1.1): C64-C128-C256-C512-C512-..., each Conv4x4/2 - BatchNorm - LeakyReLU(0.2)
    (no BatchNorm on the first and innermost layers). Decoder: ConvTranspose4x4/2 - BatchNorm - ReLU, with
    dropout 0.5 on the three innermost layers: the paper's only source of randomness (it found that G ignores
    an input z). `width` = channels of the first layer (64 in the paper), capped at 8 * width.
    """

    def __init__(self, *, in_channels: int = 3, out_channels: int = 3, depth: int = 8, width: int = 64,
                 skips: bool = True, dropout: float = 0.5):
        super().__init__()
        if depth < 2:
            raise ValueError("a U-Net needs depth >= 2")
        self.depth, self.skips = depth, skips
        ch = [min(width * 2 ** i, 8 * width) for i in range(depth)]  # channels after encoder layer i
        self.down = nn.ModuleList()
        for i in range(depth):
            norm = 0 < i < depth - 1
            self.down.append(nn.Sequential(
                *([nn.LeakyReLU(0.2)] if i > 0 else []),
                nn.Conv2d(in_channels if i == 0 else ch[i - 1], ch[i], 4, 2, 1, bias=not norm),
                *([nn.BatchNorm2d(ch[i])] if norm else [])))
        self.up = nn.ModuleList()
        for i in range(depth):  # up[i] undoes down[i]: it maps to the size (and channels) of down[i]'s input
            cin = ch[i] * (2 if skips and i < depth - 1 else 1)
            cout = out_channels if i == 0 else ch[i - 1]
            self.up.append(nn.Sequential(
                nn.ReLU(),
                nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=i == 0),
                *([nn.BatchNorm2d(cout)] if i > 0 else [nn.Tanh()]),
                *([nn.Dropout(dropout)] if 0 < i and i >= depth - 3 and dropout > 0 else [])))

    def check_size(self, x: torch.Tensor) -> None:
        m = 2 ** self.depth
        H, W = x.shape[-2:]
        if H % m or W % m:
            ok = ", ".join(str(m * k) for k in range(1, 5))
            raise SizeError(
                f"this U-Net halves its input {self.depth} times, so height and width must be multiples of "
                f"2**{self.depth} = {m}; got {H} x {W}. Resize or pad the images (e.g. to {ok}, ...), or build "
                f"the network with a smaller depth")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_size(x)
        feats = []
        h = x
        for down in self.down:
            h = down(h)  # (B, C_i, S / 2**(i+1), S / 2**(i+1))
            feats.append(h)
        for i in reversed(range(self.depth)):
            if self.skips and i < self.depth - 1:
                h = torch.cat([h, feats[i]], dim=1)  # (B, 2 C_i, ., .): the skip from the mirrored encoder layer
            h = self.up[i](h)  # (B, C_{i-1}, S / 2**i, S / 2**i)
        return h  # (B, Cy, S, S)


# ----------------------------------------------------------------------------------------------------------
# Discriminator: PatchGAN, and its receptive field
# ----------------------------------------------------------------------------------------------------------


class PatchGAN(nn.Module):
    """D(x, y): the pair concatenated on channels -> a (B, 1, P, P) map of logits, one per patch.

    n_layers = 3 is the paper's 70 x 70 PatchGAN: C64(/2)-C128(/2)-C256(/2)-C512(/1)-conv to 1 channel (/1).
    """

    def __init__(self, *, in_channels: int = 6, width: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = width
        for i in range(1, n_layers + 1):
            c_next = width * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(c, c_next, 4, stride, 1, bias=False), nn.BatchNorm2d(c_next), nn.LeakyReLU(0.2)]
            c = c_next
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, y], dim=1))  # (B, Cx + Cy, S, S) -> (B, 1, P, P)


def receptive_field(net: nn.Module) -> int:
    """Side, in input pixels, of the patch one output unit sees, for a chain of convolutions.

    Walking back from one output unit: a layer with kernel k, stride s and dilation d turns a span of r units of
    its output into (r - 1) * s + d * (k - 1) + 1 units of its input. Pointwise layers change nothing.
    """
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    r = 1
    for m in reversed(convs):
        k, s, d = m.kernel_size[0], m.stride[0], m.dilation[0]
        r = (r - 1) * s + d * (k - 1) + 1
    return r


def receptive_field_measured(D: PatchGAN, x_channels: int, size: int = 256) -> int:
    """The same number, measured: the side of the input region whose pixels change one central output unit."""
    was_training = D.training
    D.eval()  # batch statistics would couple every pixel to every output
    x = torch.randn(1, x_channels, size, size, requires_grad=True)  # (1, Cx, S, S)
    y = torch.randn(1, D.net[0].in_channels - x_channels, size, size)  # (1, Cy, S, S)
    out = D(x, y)  # (1, 1, P, P)
    P = out.shape[-1]
    out[0, 0, P // 2, P // 2].backward()
    D.train(was_training)
    touched = x.grad.abs().sum(dim=(0, 1)) > 0  # (S, S)
    rows, cols = touched.any(1).nonzero(), touched.any(0).nonzero()
    return int(max(rows.max() - rows.min(), cols.max() - cols.min())) + 1


# ----------------------------------------------------------------------------------------------------------
# The Pix2Pix step
# ----------------------------------------------------------------------------------------------------------


def d_loss_pix2pix(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-L_cGAN averaged over every patch, halved as in the paper "to slow down the rate at which D learns"."""
    return 0.5 * losses.d_loss(real_logits, fake_logits)


def pix2pix_step(G: nn.Module, D: nn.Module | None, opt_G, opt_D, x: torch.Tensor, y: torch.Tensor, *,
                 lam: float = 100.0, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """One D step on (x, y) vs (x, G(x)).detach(), then one G step on L_cGAN + lam * L1.

    The loss ablation of the paper: D=None trains with L1 only; lam=0 with the cGAN loss only.
    """
    with amp():
        fake = G(x)  # (B, Cy, S, S)
    stats: dict[str, torch.Tensor] = {}
    if D is not None:  # D sees the condition x with every candidate output: D(x, y) vs D(x, G(x).detach())
        stats |= train.d_step(functools.partial(D, x), y, fake, opt_D, d_loss_pix2pix, amp)
    # G through the updated D, frozen: gradients reach G through D, D's weights get none
    with amp(), train.frozen(D):
        l1 = (fake - y).abs().mean()  # L_L1 = E ||y - G(x)||_1
        adv = losses.g_loss_nonsaturating(D(x, fake)) if D is not None else torch.zeros((), device=x.device)
        loss_G = adv + lam * l1
    train.update(opt_G, loss_G)
    return stats | {"loss_G": loss_G.detach(), "loss_G_gan": adv.detach(), "L1": l1.detach()}


def lr_factor(step: int, steps: int) -> float:
    """The paper's schedule (official code's `linear` policy): the learning rate constant for the first half of
    the steps, then decayed linearly to zero over the second half; multiply the base rate by this at `step`."""
    half = steps // 2
    return 1.0 if step < half else max(0.0, (steps - step) / max(1, steps - half))


def optimizers(G: nn.Module, D: nn.Module | None, lr: float = 2e-4, betas=(0.5, 0.999)):
    """Adam, lr 2e-4, beta1 0.5 for both players (paper, section 3.3)."""
    opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=betas) if D is not None else None
    return torch.optim.Adam(G.parameters(), lr=lr, betas=betas), opt_D


@torch.no_grad()
def translate(G: nn.Module, x: torch.Tensor, batch_size: int = 64, *, test_batch_stats: bool = False,
              amp=contextlib.nullcontext) -> torch.Tensor:
    """G(x) for a whole tensor, in batches, on G's device; returned on the CPU. Dropout stays on (the paper's
    only noise, used at test time too); G's mode is restored afterwards.

    Batch normalisation, two ways; in both, each output depends on its own input only:
      test_batch_stats=False  the running statistics gathered in training (BatchNorm in eval mode): right for a
                              G trained on batches of more than one pair, as in the notebook;
      test_batch_stats=True   the paper's test-time rule: statistics of the test batch, which with batch 1 (how
                              the paper trains and tests) is instance normalisation; images go through one at a
                              time, and G's running statistics are left as they were.
    """
    device = next(G.parameters()).device
    was_training = G.training
    bns = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in bns
             if m.track_running_stats]
    G.train(test_batch_stats)  # train mode: batch statistics; eval mode: running statistics
    for m in G.modules():
        if isinstance(m, nn.Dropout):
            m.train()  # the noise stays on either way
    step = 1 if test_batch_stats else batch_size
    out = []
    try:
        for i in range(0, len(x), step):
            with amp():
                out.append(G(x[i:i + step].to(device)).float().cpu())  # (b, Cy, S, S)
    finally:
        for m, (mean, var, n) in zip([m for m in bns if m.track_running_stats], saved):
            m.running_mean.copy_(mean), m.running_var.copy_(var), m.num_batches_tracked.copy_(n)
        G.train(was_training)
    return torch.cat(out)
