"""Chapter 11: MuseGAN's objective metrics (Dong et al., AAAI 2018, §"Objective metrics"), vectorised over a batch.

Every function takes binary rolls x of shape (B, K, N, T, P) (segments, tracks, bars, steps per bar, pitches) and
returns one value per track (K,), or per pair of tracks (K, K). A generator is judged by how close its values are
to the training data's: none of them is "better" when higher.

    EB   empty bars: the fraction of bars in which a track plays nothing
    UPC  used pitch classes: how many of the 12 pitch classes a track uses in a bar, averaged over its non-empty bars
    QN   qualified notes: the fraction of notes that last at least `min_len` steps. The paper counts notes "no
         shorter than three time steps (a 32nd note)" at 24 steps per beat. At our 4 steps per beat a 32nd note is
         shorter than one step, so that threshold would qualify every note; we use min_len = 2 (an eighth note),
         which Bach's voices rarely go below, and fragmented output often does.
    PP   polyphonicity: the fraction of time steps where a track sounds more than `threshold` pitches at once. The
         paper's follow-up uses threshold 2 for chords; a chorale voice sings one note, so we use 1.
    TD   tonal distance (Harte et al. 2006) between two tracks: in each bar, each track's chroma c (12 counts of
         sounding steps per pitch class) maps to a 6-D tonal centroid ζ = Φ c / ||c||₁ (Φ: circles of fifths,
         minor thirds and major thirds); TD is ||ζ_i - ζ_j||₂, averaged over bars where both tracks play.

Dimension key: B batch, K tracks, N bars, T steps per bar, P pitches.
"""

from __future__ import annotations

import math

import torch

FAMILIES = ("EB", "UPC", "QN", "TD")  # the four families compared with the training data's range
EXTRA = ("PP",)


def binarize(probs: torch.Tensor, mode: str = "threshold", generator: torch.Generator | None = None) -> torch.Tensor:
    """G's note probabilities -> a binary roll: hard thresholding at 1/2 (MuseGAN's test-time choice), or one
    Bernoulli draw per cell ("bernoulli")."""
    if mode == "threshold":
        return (probs > 0.5).float()
    if mode == "bernoulli":
        return torch.bernoulli(probs.clamp(0, 1), generator=generator)
    raise ValueError(f"mode must be 'threshold' or 'bernoulli', got {mode!r}")


def _bool(x: torch.Tensor) -> torch.Tensor:
    if x.ndim != 5:
        raise ValueError(f"expected rolls of shape (B, K, N, T, P), got {tuple(x.shape)}")
    return x > 0.5


def _per_track(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den per track, NaN where a track has nothing to count."""
    num, den = num.double(), den.double()
    return torch.where(den > 0, num / den.clamp(min=1), torch.full_like(num, math.nan))


def empty_bars(x: torch.Tensor) -> torch.Tensor:
    """EB per track (K,): the fraction of the B·N bars without any note."""
    return _per_track(*_empty_bars_counts(x))


def _empty_bars_counts(x):
    empty = ~_bool(x).flatten(3).any(-1)  # (B, K, N)
    return empty.sum((0, 2)), torch.full((x.shape[1],), x.shape[0] * x.shape[2])


def pitch_class_matrix(n_pitches: int, lowest: int = 36) -> torch.Tensor:
    """(P, 12) one-hot: pitch index i sounds pitch class (lowest + i) mod 12."""
    return torch.nn.functional.one_hot((lowest + torch.arange(n_pitches)) % 12, 12).double()


def chroma(x: torch.Tensor, lowest: int = 36) -> torch.Tensor:
    """(B, K, N, 12): per bar, how many steps each pitch class sounds (summed over octaves)."""
    counts = _bool(x).double().sum(3)  # (B, K, N, P)
    return counts @ pitch_class_matrix(x.shape[-1], lowest).to(counts.device)  # (B, K, N, 12)


def used_pitch_classes(x: torch.Tensor, lowest: int = 36) -> torch.Tensor:
    """UPC per track (K,): pitch classes used per bar, averaged over the track's non-empty bars."""
    return _per_track(*_upc_counts(x, lowest))


def _upc_counts(x, lowest=36):
    used = (chroma(x, lowest) > 0).sum(-1).double()  # (B, K, N)
    nonempty = used > 0
    return (used * nonempty).sum((0, 2)), nonempty.sum((0, 2))


def qualified_notes(x: torch.Tensor, min_len: int = 2) -> torch.Tensor:
    """QN per track (K,): notes lasting >= min_len steps / all notes. A note is a maximal run of ones of one pitch
    over the segment's N·T steps (it may cross a bar line)."""
    return _per_track(*_qn_counts(x, min_len))


def _qn_counts(x, min_len=2):
    on = _bool(x).flatten(2, 3).transpose(2, 3).to(torch.int16)  # (B, K, P, S)
    padded = torch.nn.functional.pad(on, (1, min_len))  # (B, K, P, 1 + S + min_len): silence on both sides
    onset = (padded[..., 1:] - padded[..., :-1] == 1)[..., :on.shape[-1]]  # (B, K, P, S)
    csum = torch.nn.functional.pad(padded[..., 1:].cumsum(-1, dtype=torch.int16), (1, 0))  # (B, K, P, S + min_len + 1)
    window = csum[..., min_len:min_len + on.shape[-1]] - csum[..., :on.shape[-1]]  # ones in [s, s + min_len)
    qualified = onset & (window == min_len)  # a run is long enough iff its first min_len steps are all on
    return qualified.sum((0, 2, 3)), onset.sum((0, 2, 3))


def polyphony(x: torch.Tensor, threshold: int = 1) -> torch.Tensor:
    """PP per track (K,): the fraction of time steps with more than `threshold` pitches sounding."""
    return _per_track(*_pp_counts(x, threshold))


def _pp_counts(x, threshold=1):
    n = _bool(x).sum(-1)  # (B, K, N, T)
    return (n > threshold).sum((0, 2, 3)), torch.full((x.shape[1],), n[:, 0].numel())


def tonal_matrix(r1: float = 1.0, r2: float = 1.0, r3: float = 0.5) -> torch.Tensor:
    """Φ (6, 12) of Harte et al. (2006): pitch class l at angles l·7π/6 (fifths), l·3π/2 (minor thirds) and
    l·2π/3 (major thirds), on circles of radius r1, r2, r3."""
    l = torch.arange(12, dtype=torch.float64)
    rows = []
    for r, angle in ((r1, 7 * math.pi / 6), (r2, 3 * math.pi / 2), (r3, 2 * math.pi / 3)):
        rows += [r * torch.sin(l * angle), r * torch.cos(l * angle)]
    return torch.stack(rows)  # (6, 12)


def tonal_centroid(c: torch.Tensor) -> torch.Tensor:
    """ζ = Φ c / ||c||₁ for chroma vectors c (..., 12) -> (..., 6); zeros where c is all zero."""
    c = c.double()
    return (c / c.sum(-1, keepdim=True).clamp(min=1e-12)) @ tonal_matrix().to(c.device).T  # (..., 6)


def tonal_distance(x: torch.Tensor, lowest: int = 36) -> torch.Tensor:
    """TD (K, K): ||ζ_i - ζ_j||₂ per bar, averaged over the bars where both tracks i and j play (NaN if none).

    One chroma per bar: MuseGAN's reference code takes one per beat (4 steps here) and averages, which pools
    fewer notes per chroma, so its distances are larger and not comparable with these."""
    return _per_track(*_td_counts(x, lowest))


def _td_counts(x, lowest=36):
    c = chroma(x, lowest)  # (B, K, N, 12)
    z = tonal_centroid(c)  # (B, K, N, 6)
    d = (z[:, :, None] - z[:, None]).norm(dim=-1)  # (B, K, K, N)
    plays = c.sum(-1) > 0  # (B, K, N)
    both = plays[:, :, None] & plays[:, None]  # (B, K, K, N)
    return (d * both).sum((0, 3)), both.sum((0, 3))  # (K, K) each


def bar_repetition(x: torch.Tensor) -> torch.Tensor:
    """Per track (K,): how much each bar repeats the one before it, the Jaccard similarity |a ∩ b| / |a ∪ b| of
    their (step, pitch) cells, averaged over the consecutive pairs in which the track plays. 1 = every bar a copy
    of the previous one. Not a MuseGAN metric: a check that a phrase changes from bar to bar."""
    b = _bool(x).flatten(3)  # (B, K, N, T·P)
    inter = (b[:, :, 1:] & b[:, :, :-1]).sum(-1)  # (B, K, N - 1)
    union = (b[:, :, 1:] | b[:, :, :-1]).sum(-1)  # (B, K, N - 1)
    sim, plays = inter.double() / union.clamp(min=1), union > 0
    return _per_track((sim * plays).sum((0, 2)), plays.sum((0, 2)))


def evaluate(x: torch.Tensor, lowest: int = 36, min_len: int = 2, batch: int = 1024) -> dict[str, torch.Tensor]:
    """All metrics of a batch of binary rolls: EB, UPC, QN, PP per track (K,), TD per pair (K, K).

    Counted `batch` segments at a time and divided at the end (the same numbers as all at once), so memory does
    not grow with the number of segments: 50,000 segments at once would need tens of GB for QN alone."""
    counts = {"EB": _empty_bars_counts, "UPC": lambda c: _upc_counts(c, lowest),
              "QN": lambda c: _qn_counts(c, min_len), "PP": _pp_counts, "TD": lambda c: _td_counts(c, lowest)}
    sums: dict[str, list[torch.Tensor]] = {}
    for i in range(0, max(len(x), 1), batch):
        chunk = x[i:i + batch].detach().cpu()
        for k, f in counts.items():
            num, den = f(chunk)
            if k in sums:
                sums[k] = [sums[k][0] + num.double(), sums[k][1] + den.double()]
            else:
                sums[k] = [num.double(), den.double()]
    return {k: _per_track(*v) for k, v in sums.items()}


def summary(m: dict[str, torch.Tensor]) -> dict[str, float]:
    """One number per metric: the mean over tracks (EB, UPC, QN, PP) or over pairs i < j (TD), ignoring NaN."""
    out = {}
    for k, v in m.items():
        if v.ndim == 2:
            i, j = torch.triu_indices(v.shape[0], v.shape[1], offset=1)
            v = v[i, j]
        out[k] = float(v.nanmean()) if (~v.isnan()).any() else math.nan
    return out


def data_range(x: torch.Tensor, source: torch.Tensor, lowest: int = 36) -> dict[str, tuple[float, float]]:
    """The training data's range of each summary metric: mean ± one standard deviation over chorales of the
    per-chorale values (each chorale's segments evaluated together), clipped to the values observed. Most chorales
    have no empty bar at all, so a percentile range of EB would collapse to [0, 0] and exclude the data itself."""
    rows = [summary(evaluate(x[source == s], lowest)) for s in source.unique()]
    out = {}
    for k in rows[0]:
        v = torch.tensor([r[k] for r in rows], dtype=torch.float64)
        v = v[~v.isnan()]
        if not len(v):
            out[k] = (math.nan, math.nan)
            continue
        mean, sd = float(v.mean()), float(v.std(correction=0))
        out[k] = (max(mean - sd, float(v.min())), min(mean + sd, float(v.max())))
    return out


def within(s: dict[str, float], ranges: dict[str, tuple[float, float]], families=FAMILIES) -> dict[str, bool]:
    return {f: ranges[f][0] <= s[f] <= ranges[f][1] for f in families}


def random_rolls(n: int, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Baseline: n rolls of like's shape whose cells are independent coin flips with each track's note density."""
    density = _bool(like).double().mean((0, 2, 3, 4))  # (K,)
    p = density.float()[None, :, None, None, None].expand(n, *like.shape[1:])  # (n, K, N, T, P)
    return torch.bernoulli(p, generator=generator)


def table(rows: dict[str, dict[str, float]], ranges: dict[str, tuple[float, float]] | None = None,
          keys=FAMILIES + EXTRA) -> str:
    """A text table: one row per source (summary dicts), EB / QN / PP in percent, and how many of the four
    families fall in the training data's range."""
    pct = {"EB", "QN", "PP"}
    head = f"{'':24}" + "".join(f"{k + (' %' if k in pct else ''):>11}" for k in keys)
    lines = [head + ("   in range" if ranges else "")]
    if ranges:
        lines.append(f"{'data range (mean ± sd)':24}" + "".join(
            f"{_fmt(ranges[k][0], k in pct, 1) + '-' + _fmt(ranges[k][1], k in pct, 1):>11}" for k in keys))
    for name, s in rows.items():
        line = f"{name:24}" + "".join(f"{_fmt(s[k], k in pct):>11}" for k in keys)
        if ranges:
            line += f"   {sum(within(s, ranges).values())}/{len(FAMILIES)}"
        lines.append(line)
    return "\n".join(lines)


def _fmt(v: float, pct: bool, digits: int | None = None) -> str:
    if math.isnan(v):
        return "n/a"
    if pct:
        return f"{100 * v:.{1 if digits is None else digits}f}"
    return f"{v:.{2 if digits is None else 1}f}"
