"""MuseGAN (Dong, Hsiao, Yang and Yang, AAAI 2018): multi-track piano rolls from noise, trained as a WGAN-GP.

Three ways to make K tracks that belong together (the paper's §"Modeling the multi-track interdependency"):

    jamming   K generators, each with its own private latent z_k, and K critics, one per track: players who
              listen to nobody but are each judged alone
    composer  one generator makes all K tracks from one shared latent z; one critic judges them together
    hybrid    K generators, each fed the shared z *and* its private z_k; one critic judges all tracks together

Structure across bars (§"Modeling the temporal structure"): a latent has a time-independent part (the same for
every bar) and a time-dependent part, a vector that a *temporal generator* G_temp maps to one vector per bar. The
bar generator G_bar then makes bar t of track k from

    [ z, G_temp(z_t)^(t), z_k, G_temp,k(z_k,t)^(t) ]   (hybrid: all four; composer: the shared two; jamming: the
                                                         private two)

K generators (or critics) with separate weights run side by side as one batched matrix product (`GroupLinear`):
the same computation as K separate networks, in one call.

G's last layer is a sigmoid: a probability per cell. The AAAI paper lets the critic see these probabilities and
binarises (thresholds at 1/2) only after training. With `straight_through=True` (BinaryMuseGAN, Dong & Yang, ISMIR
2018) G binarises inside its forward pass and lets the gradient through as if the threshold were the identity, so
the critic compares notes with notes.

Dimension key: B batch, K tracks, N bars, T steps per bar, P pitches (P = 48: four octaves of 12), Z size of one
latent part, c width, g groups (K separate networks, or 1 shared).
"""

from __future__ import annotations

import math

import torch
from einops import rearrange, repeat
from torch import nn

from .. import features, losses

DESIGNS = ("jamming", "composer", "hybrid")


def latent_parts(design: str) -> tuple[str, ...]:
    """Which latent parts a design uses: shared (z), shared per-bar (z_t), private (z_k), private per-bar (z_k,t)."""
    return {"jamming": ("private", "private_t"), "composer": ("shared", "shared_t"),
            "hybrid": ("shared", "shared_t", "private", "private_t")}[design]


def assemble_latents(shared=None, shared_bars=None, private=None, private_bars=None) -> torch.Tensor:
    """The bar generators' inputs: for every track and bar the concatenation [z, z_t^(t), z_k, z_k,t^(t)] of the
    parts given (None parts are left out).

    shared (B, Z), shared_bars (B, N, Z), private (B, K, Z), private_bars (B, K, N, Z) -> (B, K, N, sum of sizes);
    without private parts K = 1 (one generator makes all tracks)."""
    ref = private_bars if private_bars is not None else shared_bars
    B, N = ref.shape[0], ref.shape[-2]
    K = private.shape[1] if private is not None else (private_bars.shape[1] if private_bars is not None else 1)
    pieces = []
    if shared is not None:
        pieces.append(repeat(shared, "b z -> b k n z", k=K, n=N))  # (B, K, N, Z): same for every track and bar
    if shared_bars is not None:
        pieces.append(repeat(shared_bars, "b n z -> b k n z", k=K))  # (B, K, N, Z): same for every track
    if private is not None:
        pieces.append(repeat(private, "b k z -> b k n z", n=N))  # (B, K, N, Z): same for every bar
    if private_bars is not None:
        pieces.append(private_bars)  # (B, K, N, Z)
    return torch.cat(pieces, dim=-1)  # (B, K, N, parts·Z)


class GroupLinear(nn.Module):
    """g independent linear maps applied side by side: (..., g, i) -> (..., g, o); nn.Linear when g = 1.

    Every layer below is one of these, applied at every position of a grid: a (transposed) convolution whose
    stride equals its kernel is exactly that, and on a CPU one batched matmul is much faster than a grouped
    convolution."""

    def __init__(self, groups: int, d_in: int, d_out: int):
        super().__init__()
        bound = 1 / math.sqrt(d_in)  # nn.Linear's initialisation
        self.weight = nn.Parameter(torch.empty(groups, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(groups, d_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("...gi,gio->...go", x, self.weight) + self.bias  # (..., g, o)


class GroupNormAct(nn.Module):
    """Batch norm over each group's features (every position and sample pooled), then ReLU: (..., g, c)."""

    def __init__(self, groups: int, c: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(groups * c)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(h.flatten(-2).reshape(-1, h.shape[-2] * h.shape[-1])).reshape(h.shape))


class TemporalGenerator(nn.Module):
    """G_temp: one latent vector per group (B, g, Z) -> one vector per bar (B, g, N, Z). (MuseGAN uses transposed
    convolutions over bars; for N = 4 bars a two-layer MLP is as expressive.)"""

    def __init__(self, *, z_dim: int, n_bars: int, groups: int = 1, hidden: int = 64):
        super().__init__()
        self.n_bars = n_bars
        self.fc1, self.act, self.fc2 = GroupLinear(groups, z_dim, hidden), GroupNormAct(groups, hidden), \
            GroupLinear(groups, hidden, n_bars * z_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc2(self.act(self.fc1(z)))  # (B, g, N·Z)
        return rearrange(h, "b g (n z) -> b g n z", n=self.n_bars)  # (B, g, N, Z)


class BarGenerator(nn.Module):
    """G_bar: one input vector per bar -> the bar's piano roll (T x P), for g groups (generators) at once.

    Time grows 1 -> 4 beats -> 16 steps; pitch grows 1 -> 4 octaves -> 48 pitches, the last layer mapping each
    octave cell to its 12 pitches with the same weights in every octave (a transposed convolution with a 1 x 12
    kernel and stride 12). Each group outputs K / g tracks."""

    def __init__(self, *, in_dim: int, groups: int, out_tracks: int, width: int, steps: int = 16,
                 n_pitches: int = 48):
        super().__init__()
        self.g, self.beats, self.octaves, self.k = groups, steps // 4, n_pitches // 12, out_tracks // groups
        c, g = width, groups
        self.fc = GroupLinear(g, in_dim, self.beats * self.octaves * c)
        self.act1 = GroupNormAct(g, c)
        self.up_time = GroupLinear(g, c, 4 * (c // 2))  # each beat -> 4 sixteenth steps
        self.act2 = GroupNormAct(g, c // 2)
        self.up_pitch = GroupLinear(g, c // 2, 12 * self.k)  # each octave cell -> 12 pitches

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.fc(h)  # (M, g, beats·octaves·c)
        h = rearrange(h, "m g (t o c) -> m t o g c", t=self.beats, o=self.octaves)  # (M, 4, 4, g, c)
        h = self.up_time(self.act1(h))  # (M, 4, 4, g, 4·c/2)
        h = rearrange(h, "m t o g (s c) -> m (t s) o g c", s=4)  # (M, 16, 4, g, c/2)
        h = self.up_pitch(self.act2(h))  # (M, 16, 4, g, 12·k)
        return rearrange(h, "m t o g (p k) -> m (g k) t (o p)", p=12)  # (M, K, 16, 48)


class Generator(nn.Module):
    """z (B, z_dim) -> note probabilities (B, K, N, T, P). `design` picks the latent structure (see module doc);
    z is one flat vector, split into the design's parts, so the usual GAN step `G(z)` applies unchanged."""

    def __init__(self, *, design: str = "hybrid", n_tracks: int = 4, n_bars: int = 4, steps: int = 16,
                 n_pitches: int = 48, z_part: int = 16, width: int = 32, straight_through: bool = False):
        super().__init__()
        self.straight_through = straight_through
        if design not in DESIGNS:
            raise ValueError(f"design must be one of {DESIGNS}, got {design!r}")
        self.design, self.parts = design, latent_parts(design)
        self.K, self.N, self.T, self.P, self.z_part = n_tracks, n_bars, steps, n_pitches, z_part
        K, Z = n_tracks, z_part
        self.sizes = {"shared": Z, "shared_t": Z, "private": K * Z, "private_t": K * Z}
        self.z_dim = sum(self.sizes[p] for p in self.parts)
        if "shared_t" in self.parts:
            self.temporal_shared = TemporalGenerator(z_dim=Z, n_bars=n_bars, groups=1)
        if "private_t" in self.parts:
            self.temporal_private = TemporalGenerator(z_dim=Z, n_bars=n_bars, groups=K)
        groups = 1 if design == "composer" else K
        # one shared network gets √K times the width of each private one: about the same number of weights
        c = width if groups > 1 else 2 * int(round(width * math.sqrt(K) / 2))
        self.bar = BarGenerator(in_dim=Z * len(self.parts), groups=groups, out_tracks=K, width=c, steps=steps,
                                n_pitches=n_pitches)

    def split_latent(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        chunks = dict(zip(self.parts, z.split([self.sizes[p] for p in self.parts], dim=1)))
        if "private" in chunks:
            chunks["private"] = chunks["private"].unflatten(1, (self.K, self.z_part))  # (B, K, Z)
        if "private_t" in chunks:
            chunks["private_t"] = chunks["private_t"].unflatten(1, (self.K, self.z_part))  # (B, K, Z)
        return chunks

    def bar_inputs(self, z: torch.Tensor) -> torch.Tensor:
        """(B, z_dim) -> (B, g, N, parts·Z): what each bar generator receives for each bar."""
        c = self.split_latent(z)
        shared_bars = private_bars = None
        if "shared_t" in c:
            shared_bars = self.temporal_shared(c["shared_t"][:, None])[:, 0]  # (B, N, Z)
        if "private_t" in c:
            private_bars = self.temporal_private(c["private_t"])  # (B, K, N, Z)
        return assemble_latents(c.get("shared"), shared_bars, c.get("private"), private_bars)  # (B, g, N, L)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.bar_inputs(z)  # (B, g, N, L)
        B = h.shape[0]
        h = rearrange(h, "b g n l -> (b n) g l")  # (B·N, g, L): bars are independent given their inputs
        x = self.bar(h)  # (B·N, K, T, P)
        return rearrange(x, "(b n) k t p -> b k n t p", b=B)  # (B, K, N, T, P)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(self.logits(z))  # (B, K, N, T, P) note probabilities
        if self.straight_through:
            return p + ((p > 0.5).to(p.dtype) - p).detach()  # forward: notes in {0, 1}; backward: identity
        return p


class Critic(nn.Module):
    """D: rolls (B, K, N, T, P) -> scores (B, g). One critic over all tracks (g = 1), or one per track
    (`per_track=True`, g = K, as jamming's K discriminators), each seeing only its own track.

    Layer by layer: one beat (4 steps) of one octave (12 pitches), then a whole bar, then the N bars together (3-D
    convolutions whose stride equals their kernel, written as `GroupLinear`s). No normalisation layer: the gradient
    penalty is per sample, and batch norm would mix samples."""

    def __init__(self, *, n_tracks: int = 4, n_bars: int = 4, steps: int = 16, n_pitches: int = 48,
                 width: int = 32, per_track: bool = False):
        super().__init__()
        g = n_tracks if per_track else 1
        c = width if per_track else 2 * int(round(width * math.sqrt(n_tracks) / 2))
        self.groups = g
        self.beat = GroupLinear(g, n_tracks // g * 4 * 12, c)
        self.bar = GroupLinear(g, (steps // 4) * (n_pitches // 12) * c, 2 * c)
        self.song = GroupLinear(g, n_bars * 2 * c, 2 * c)
        self.out = GroupLinear(g, 2 * c, 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g, act = self.groups, self.act
        h = rearrange(x, "b (g k) n (t s) (o p) -> b n t o g (k s p)", g=g, s=4, p=12)  # (B, N, T/4, O, g, K/g·4·12)
        h = act(self.beat(h))  # (B, N, T/4, O, g, c): one vector per beat and octave
        h = rearrange(h, "b n t o g c -> b n g (t o c)")  # (B, N, g, T/4·O·c)
        h = act(self.bar(h))  # (B, N, g, 2c): one per bar
        h = rearrange(h, "b n g c -> b g (n c)")  # (B, g, N·2c)
        h = act(self.song(h))  # (B, g, 2c)
        return self.out(h)[..., 0]  # (B, g)


def build(design: str = "hybrid", *, n_tracks: int = 4, n_bars: int = 4, steps: int = 16, n_pitches: int = 48,
          z_part: int = 16, width: int = 32, critic_width: int | None = None,
          straight_through: bool = False) -> tuple[Generator, Critic]:
    """G and D of a design; jamming gets one critic per track (the paper's K discriminators). Widths are per
    track; the critic's defaults to G's."""
    shape = dict(n_tracks=n_tracks, n_bars=n_bars, steps=steps, n_pitches=n_pitches)
    G = Generator(design=design, z_part=z_part, width=width, straight_through=straight_through, **shape)
    D = Critic(width=critic_width or width, per_track=design == "jamming", **shape)
    return G, D


# ----------------------------------------------------------------------------------------------------------
# WGAN-GP (Gulrajani et al. 2017), as MuseGAN trains it
# ----------------------------------------------------------------------------------------------------------


def gradient_penalty(D: Critic, real: torch.Tensor, fake: torch.Tensor,
                     eps: torch.Tensor | None = None) -> torch.Tensor:
    """E_x̂[(||∇_x̂ D(x̂)||₂ - 1)²], x̂ = ε x + (1 - ε) G(z). With one critic: `losses.gradient_penalty`.
    With one critic per track, each critic's gradient norm is taken over its own track (the other tracks do not
    feed it), and the K penalties are averaged."""
    if D.groups == 1:
        return losses.gradient_penalty(D, real, fake, eps)
    real, fake = real.detach(), fake.detach()
    if eps is None:
        eps = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)  # (B, K, N, T, P)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)  # (B, K, N, T, P)
    return (grad.flatten(2).norm(2, dim=2) - 1).square().mean()  # norms (B, K), one per critic


def optimizers(G: nn.Module, D: nn.Module, lr: float = 1e-3):
    """Adam(lr 1e-3, β = (0.5, 0.9)) for both players, the reference implementation's defaults."""
    return (torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.9)),
            torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.9)))


def generate(G: Generator, n: int, *, seed: int = 0, batch: int = 512) -> torch.Tensor:
    """n samples of note probabilities (n, K, N, T, P) from a fixed seed, G in eval mode, on the CPU."""
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))  # (n, z_dim)
    return features.apply_batched(G, z, batch)  # (n, K, N, T, P)


# ----------------------------------------------------------------------------------------------------------
# This chapter's sizes per scale (the notebook and `course train musegan`, recipes/musegan.py, read them)
# ----------------------------------------------------------------------------------------------------------


def default_sizes(S) -> dict:
    """What a scale means for this chapter: chorales parsed, G steps per design, widths per track (G and D), batch,
    and segments generated for the metrics. The batch is half the scale's: on a CPU, more and smaller steps learn
    more per second (the paper used 64). The metrics use at most 10,000 segments (the scale's n_eval of 50,000 at
    full would hold 2.5 GB per copy of the rolls for no visible gain in precision)."""
    return {"n_chorales": None if S.n_train is None else S.n_train // 128, "steps": S.image_steps // 2,
            "width": max(4, S.width // 4), "critic_width": max(4, S.width // 8), "batch_size": S.batch_size // 2,
            "n_eval": min(S.n_eval, 10_000)}
