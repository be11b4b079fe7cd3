# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · Music generation: MuseGAN
#
# A GAN can write music if music is made to look like an image. A **piano roll** is a binary grid, time across and
# pitch up, with a 1 wherever a note sounds; several instruments give several grids, as colour channels do. MuseGAN
# (Dong, Hsiao, Yang and Yang, AAAI 2018) generates such multi-track rolls, and asks two questions this chapter
# answers with numbers: how should the tracks share their random input so that they play *together*, and how do
# we measure music that no Inception network has seen?
#
# **You will**
# 1. turn Bach's four-voice chorales (bundled with `music21`) into piano-roll tensors, plot them and listen;
# 2. implement MuseGAN's objective metrics (empty bars, used pitch classes, qualified notes, tonal distance) and
#    measure the chorales and random rolls with them;
# 3. build MuseGAN's three latent designs (jamming, composer, hybrid) with a temporal generator across bars;
# 4. train each as a WGAN-GP, binarise its output, compare the designs with the data in one table;
# 5. export MIDI files and listen to the generated chorales.
#
# **Prerequisites:** chapter 01 (the D step and the G step), chapter 03 (the Wasserstein loss, the gradient
# penalty, `n_critic`).
#
# **Scale.** Numbers quoted in the text come from `small` (750 generator steps per design on a laptop CPU). At
# `full`, `course train musegan --scale full` trains all three designs on every chorale, 50,000 steps each, on a GPU
# (bf16); the target is MuseGAN's own: the metrics within the training data's range on at least three of the four
# metric families.

# %%
import copy
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import Audio, display
from tqdm.auto import tqdm

from course_lib import data, gan_zoo, losses, music, train
from course_lib import music_metrics as mm
from course_lib.checks import ch11 as check
from course_lib.models import musegan
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

# %% [markdown]
# ## 1 · Bach chorales as piano rolls
#
# `music21` ships with 371 four-part chorales harmonised by J. S. Bach: soprano, alto, tenor and bass, each a
# single melodic line. We keep those with exactly these four parts, in 4/4 time, and convert each to a roll:
#
# * **time:** 4 steps per quarter note, so a step is a 16th note and a 4/4 bar is $T = 16$ steps (the shortest
#   note in the chorales is a 16th); an upbeat (pickup) is shifted so bar lines fall on multiples of 16;
# * **pitch:** $P = 48$ pitches, MIDI 36 to 83 (C2 to B5): the four voices after transposition span 36–83, and
#   the few notes outside are dropped (the cell below counts them);
# * **key:** each chorale is transposed by the smallest shift that takes its analysed key to C major or A minor,
#   so that pitch classes mean the same thing in every chorale (no transposition augmentation);
# * **segments:** MuseGAN's unit is a phrase of $N = 4$ bars; we take one 4-bar window starting at every bar line.
#
# A segment is a tensor of shape (tracks, bars, steps, pitches) = $(K, N, T, P) = (4, 4, 16, 48)$; the paper writes
# the same axes as bars × steps × pitches × tracks. Parsing a chorale takes music21 a few tenths of a second, so the
# rolls are cached under the data root the first time, keyed by these settings; the scale decides how many chorales
# are parsed.
#
# > **Common misconception.** The source text describes a multi-track roll as a tensor $T \times P \times C$ (time ×
# > pitch × tracks). MuseGAN's data has one more axis, **bars**: a segment is bars × steps per bar × pitches ×
# > tracks, and the bar axis is what its temporal generator uses to give a phrase a structure from bar to bar.

# %%
settings = music.RollSettings()
print(settings.describe())
n_chorales = None if S.n_train is None else S.n_train // 128  # smoke 16, small 156, full all 371
bach = music.load_bach(n_chorales, S.n_train, settings)
x_data = bach["x"]  # (B, K, N, T, P) in {0, 1}
skipped = {}
for status in bach["status"].values():
    if not status.startswith("ok"):
        skipped[status] = skipped.get(status, 0) + 1
dropped = sum(int(s.split("(")[1].split()[0]) for s in bach["status"].values() if s.startswith("ok ("))
print(f"{len(bach['status'])} chorales read, {len(bach['names'])} kept (4 parts, 4/4); skipped: {skipped}")
print(f"{dropped} notes outside MIDI {settings.lowest}-{settings.highest} dropped")
print(f"training data: {tuple(x_data.shape)} = (segments, tracks K, bars N, steps T, pitches P)")
print(f"note density per track: {[round(v, 4) for v in x_data.mean((0, 2, 3, 4)).tolist()]} "
      f"(one sounding pitch of 48 would be {1 / 48:.4f})")

# %% [markdown]
# One segment, one panel per voice (a blue line at every bar line). Each voice is a single line, one note at a
# time; the soprano sits on top and the bass at the bottom. A binary roll cannot tell a held note from the same
# pitch sung twice: repeated notes merge into one long note (a limitation MuseGAN shares).

# %%
music.plot_tracks(x_data[0], settings, title=f"{bach['names'][int(bach['chorale'][0])]}, a 4-bar segment")
plt.show()

# %% [markdown]
# To *listen*, a small additive synthesiser turns the roll into a waveform: every sounding pitch $m$ adds a few
# harmonics of $f = 440 \cdot 2^{(m - 69)/12}$ Hz under a decaying envelope (vectorised numpy, no sound font or
# download needed).

# %%
RATE = 16_000
wave = music.synthesize(x_data[0], settings, bpm=80, rate=RATE)
print(f"{len(wave) / RATE:.1f} s of audio at {RATE} Hz")
display(Audio(wave, rate=RATE))

# %% [markdown]
# ## 2 · Measuring music: MuseGAN's objective metrics
#
# There is no Inception network for chorales. MuseGAN instead measures simple statistics of the rolls and compares
# a model's values with the training data's: **closer to the data is better**, in either direction. On binary rolls
# $x \in \{0,1\}^{B \times K \times N \times T \times P}$, per track:
#
# * **EB**, empty bars: the fraction of bars in which the track plays nothing.
# * **UPC**, used pitch classes: the number of distinct pitch classes (C, C♯, …, B: pitch mod 12) the track uses
#   in a bar, averaged over its non-empty bars.
# * **QN**, qualified notes: the fraction of notes at least a minimum length. The paper counts notes "no shorter
#   than three time steps (a 32nd note)" at 24 steps per beat. Here a step is already a 16th note, so that
#   threshold would qualify every note; we use **2 steps (an eighth note)**: Bach's voices rarely move faster, and a
#   generator that fragments its lines does.
# * **PP**, polyphonicity (an extra of ours): the fraction of steps in which a track sounds more than one pitch. A
#   chorale voice never does.
# * **TD**, tonal distance between two tracks (Harte et al. 2006): in each bar, a track's chroma $c \in
#   \mathbb{R}^{12}$ (how many steps each pitch class sounds) becomes a 6-D **tonal centroid**
#
# $$\zeta = \frac{\Phi\, c}{\lVert c\rVert_1}, \qquad \Phi_{\cdot, l} = \big(r_1 \sin\tfrac{7\pi l}{6},\ r_1\cos\tfrac{7\pi l}{6},\ r_2 \sin\tfrac{3\pi l}{2},\ r_2\cos\tfrac{3\pi l}{2},\ r_3 \sin\tfrac{2\pi l}{3},\ r_3\cos\tfrac{2\pi l}{3}\big),$$
#
#   pitch class $l$ placed on the circle of fifths, of minor thirds and of major thirds ($r_1 = r_2 = 1$,
#   $r_3 = 0.5$); then $\text{TD}_{ij} = \lVert \zeta_i - \zeta_j \rVert_2$, averaged over the bars where both tracks
#   play. Tracks in harmony have nearby centroids.
#
# **Exercise 1.** Write UPC. Pitch index 0 of our rolls is a C (MIDI 36), so the pitch class of index $i$ is
# $i \bmod 12$.

# %% tags=["exercise"]
def used_pitch_classes(x):
    """x: binary rolls (B, K, N, T, P), P a multiple of 12 starting on a C -> UPC per track, shape (K,)."""
    ### BEGIN SOLUTION
    B, K, N, T, P = x.shape
    sounding = (x > 0.5).any(3)  # (B, K, N, P): which pitches sound in each bar
    classes = sounding.reshape(B, K, N, P // 12, 12).any(3)  # (B, K, N, 12): fold the octaves
    used = classes.sum(-1).double()  # (B, K, N)
    nonempty = used > 0
    return (used * nonempty).sum((0, 2)) / nonempty.sum((0, 2))
    ### END SOLUTION


# %% tags=["check"]
check.used_pitch_classes(used_pitch_classes)

# %% [markdown]
# **Exercise 2.** Write the tonal centroid $\zeta$ of chroma vectors. An empty bar has $c = 0$: return zeros there
# rather than dividing by zero.

# %% tags=["exercise"]
def tonal_centroid(c):
    """c: chroma vectors (..., 12) -> tonal centroids (..., 6)."""
    ### BEGIN SOLUTION
    l = torch.arange(12, dtype=torch.float64)
    rows = []
    for r, angle in ((1.0, 7 * torch.pi / 6), (1.0, 3 * torch.pi / 2), (0.5, 2 * torch.pi / 3)):
        rows += [r * torch.sin(l * angle), r * torch.cos(l * angle)]
    phi = torch.stack(rows)  # (6, 12)
    c = c.double()
    return (c / c.sum(-1, keepdim=True).clamp(min=1e-12)) @ phi.T  # (..., 6)
    ### END SOLUTION


# %% tags=["check"]
check.tonal_centroid(tonal_centroid)

# %% [markdown]
# Both agree with the package's versions on the chorales, and the package computes the rest. The training data's
# values come with a **range**: each chorale is measured on its own segments, and the range runs from the 10th to
# the 90th percentile over chorales (what the middle 80 % of Bach's chorales do). The baseline is **random rolls**:
# every cell an independent coin flip with the track's note density, so the same number of notes, with no musical
# structure at all.

# %%
torch.testing.assert_close(used_pitch_classes(x_data), mm.used_pitch_classes(x_data))
torch.testing.assert_close(tonal_centroid(mm.chroma(x_data[:64])), mm.tonal_centroid(mm.chroma(x_data[:64])))

ranges = mm.data_range(x_data, bach["chorale"])
random_rolls = mm.random_rolls(S.n_eval, x_data, torch.Generator().manual_seed(0))
results = {"training data": mm.summary(mm.evaluate(x_data)),
           "random rolls": mm.summary(mm.evaluate(random_rolls))}
print(mm.table(results, ranges))
m = mm.evaluate(x_data)
print("\nper voice (training data):  " + "   ".join(
    f"{v}: UPC {m['UPC'][k]:.2f}, QN {100 * m['QN'][k]:.1f} %" for k, v in enumerate(music.TRACKS)))
print("tonal distance, soprano vs alto / tenor / bass: "
      + ", ".join(f"{m['TD'][0, k]:.2f}" for k in (1, 2, 3)))

# %% [markdown]
# A voice of a chorale uses about three pitch classes per bar and almost never a note shorter than an eighth; its
# bars are almost never empty. Random rolls with the same number of notes use most of the 12 classes in every bar,
# almost all their notes are one step long, and a quarter of their steps are chords. EB cannot tell them apart
# (neither has empty bars); the other metrics can.
#
# ## 3 · MuseGAN's generator: three ways to share a latent
#
# Four musicians can improvise separately, follow one composer, or both. MuseGAN builds each as a design:
#
# | design | generators | input of track $k$ | critics |
# |---|---|---|---|
# | **jamming** | $K$, one per track | a private $z_k$ | $K$, one per track |
# | **composer** | 1, making all $K$ tracks | a shared $z$ | 1, over all tracks |
# | **hybrid** | $K$, one per track | the shared $z$ **and** a private $z_k$ | 1, over all tracks |
#
# **Across bars.** Each latent has a time-independent part, the same in every bar, and a time-dependent part: a
# vector that a **temporal generator** $G_{temp}$ turns into one vector per bar. The bar generator then makes bar $t$
# of track $k$ from
#
# $$h_{k,t} = \big[\ z,\ \ G_{temp}(z_t)^{(t)},\ \ z_k,\ \ G_{temp,k}(z_{k,t})^{(t)}\ \big]$$
#
# (hybrid uses all four parts, composer the two shared ones, jamming the two private ones). $K$ generators with
# separate weights run side by side as one batched matrix product, which is the same computation as $K$ networks.
#
# **Exercise 3.** Assemble the hybrid design's bar inputs: repeat each part over the axes on which it does not vary.

# %% tags=["exercise"]
def hybrid_latents(shared, shared_bars, private, private_bars):
    """shared (B, Z), shared_bars (B, N, Z), private (B, K, Z), private_bars (B, K, N, Z) -> (B, K, N, 4Z)."""
    ### BEGIN SOLUTION
    B, K, N, Z = private_bars.shape
    return torch.cat([shared[:, None, None].expand(B, K, N, Z),  # same for every track and bar
                      shared_bars[:, None].expand(B, K, N, Z),  # same for every track
                      private[:, :, None].expand(B, K, N, Z),  # same for every bar
                      private_bars], dim=-1)
    ### END SOLUTION


# %% tags=["check"]
check.hybrid_latents(hybrid_latents)

# %% [markdown]
# The three designs at this scale: the latent sizes, the parameter counts (a shared network gets $\sqrt K$ times
# the width of a per-track one, so each design has about as many weights), and what one latent part controls.
# Changing the shared $z$ of the hybrid changes all four tracks; changing the private $z_k$ of the tenor changes only
# the tenor.

# %%
sizes = musegan.default_sizes(S)
width, critic_width, steps = sizes["width"], sizes["critic_width"], sizes["steps"]
Z = 16  # size of one latent part
for design in musegan.DESIGNS:
    G, D = musegan.build(design, z_part=Z, width=width, critic_width=critic_width)
    n_G, n_D = (sum(p.numel() for p in net.parameters()) / 1e3 for net in (G, D))
    print(f"{design:9}: z {G.z_dim:3} = {' + '.join(musegan.latent_parts(design))}; G {n_G:.0f}k parameters, "
          f"D {n_D:.0f}k parameters, critic scores per sample: {D(G(torch.randn(2, G.z_dim))).shape[1]}")

G, _ = musegan.build("hybrid", z_part=Z, width=width)
G.eval()
z = torch.randn(4, G.z_dim)
parts = G.split_latent(z)
shared_bars = G.temporal_shared(parts["shared_t"][:, None])[:, 0]  # (B, N, Z)
private_bars = G.temporal_private(parts["private_t"])  # (B, K, N, Z)
torch.testing.assert_close(hybrid_latents(parts["shared"], shared_bars, parts["private"], private_bars),
                           G.bar_inputs(z))
with torch.no_grad():
    base = G(z)
    for name, lo in (("shared z", 0), ("private z of the tenor", 2 * Z + 2 * Z)):
        z2 = z.clone()
        z2[:, lo:lo + Z] += 1.0
        moved = (G(z2) - base).abs().flatten(2).amax(-1).amax(0) > 1e-6  # (K,)
        print(f"changing the {name:24} moves: {[t for t, m in zip(music.TRACKS, moved) if m]}")

# %% [markdown]
# ## 4 · Training: WGAN-GP
#
# MuseGAN is trained as a **Wasserstein GAN with gradient penalty** (chapter 03): the critic $D$ maximises
# $\mathbb{E}[D(x)] - \mathbb{E}[D(G(z))]$ under a soft 1-Lipschitz constraint, so it minimises
#
# $$L_D = \mathbb{E}_z[D(G(z))] - \mathbb{E}_x[D(x)] + \lambda\, \mathbb{E}_{\hat x}\big[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2\big],
#   \quad \hat x = \epsilon x + (1-\epsilon) G(z),\ \epsilon \sim U[0,1],$$
#
# with $\lambda = 10$, and takes 5 steps for each step of $G$, which minimises $L_G = -\mathbb{E}_z[D(G(z))]$ (Adam,
# learning rate $10^{-3}$, $\beta = (0.5, 0.9)$, as the reference implementation; we use batches of 32 instead of
# its 64, since on a CPU more and smaller steps learn more per second). Jamming's $K$
# critics each get their own penalty, the gradient norm taken over their own track.
#
# **Binarisation.** $G$ ends in a sigmoid: a probability per cell. The AAAI paper lets the critic see these
# probabilities and thresholds them at 1/2 only after training. Real rolls are binary and very sparse (one pitch in
# 48 per step), so a critic can tell a soft roll from a real one by its values alone; in our short CPU runs that
# version drifts to probabilities below 1/2 everywhere, i.e. empty rolls after thresholding
# (`course train musegan --soft` reproduces it). The authors' follow-up, **BinaryMuseGAN** (Dong & Yang, ISMIR 2018),
# binarises *inside* $G$: the forward pass outputs hard notes $\mathbb{1}[p > 1/2]$, the backward pass lets the
# gradient through as if it were the identity (a *straight-through estimator*). We use that, so the critic compares
# notes with notes.
#
# > **Common misconception.** The source text writes MuseGAN's objective as the original GAN's log-loss,
# > $-\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(G(z)))]$, and suggests adding rule-based losses for rhythm and
# > harmony. MuseGAN uses neither: it trains a WGAN-GP (a critic with unbounded scores and a gradient penalty, five
# > critic steps per generator step), and its musical metrics are used only to *evaluate* the samples, never as a
# > loss.
#
# The step, written out (chapter 03's `gan_zoo.zoo_step` does the same, checked below on copies of the models):

# %%
GP_WEIGHT, N_CRITIC, LR = 10.0, 5, 1e-3


def wgan_gp_step(G, D, opt_G, opt_D, batches):
    for _ in range(N_CRITIC):
        real = next(batches)  # (B, K, N, T, P)
        fake = G(torch.randn(real.shape[0], G.z_dim, device=real.device))  # (B, K, N, T, P), notes in {0, 1}
        # the critic's step moves D only: fake.detach() cuts the graph back to G
        real_scores, fake_scores = D(real), D(fake.detach())  # (B, g): g = 1, or K critics for jamming
        loss_D = fake_scores.mean() - real_scores.mean() + GP_WEIGHT * musegan.gradient_penalty(D, real, fake)
        opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        opt_D.step()
    loss_G = -D(fake).mean()  # through the updated critic, on the last fake batch
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    return {"loss_D": loss_D.item(), "loss_G": loss_G.item(), "W": (real_scores.mean() - fake_scores.mean()).item()}


def check_against_package(design):
    models = []
    for _ in range(2):
        train.seed_everything(1)
        G, D = musegan.build(design, z_part=Z, width=width, critic_width=critic_width, straight_through=True)
        models.append((G, D, *musegan.optimizers(G, D, LR), data.Batches(x_data, batch_size=8, seed=0)))
    (G1, D1, oG1, oD1, b1), (G2, D2, oG2, oD2, b2) = models
    train.seed_everything(2)
    wgan_gp_step(G1, D1, oG1, oD1, b1)
    train.seed_everything(2)
    gan_zoo.zoo_step(G2, D2, oG2, oD2, b2, G2.z_dim, d_loss=losses.d_loss_wgan, g_loss=losses.g_loss_wgan,
                     n_critic=N_CRITIC, penalty=lambda D, r, f: GP_WEIGHT * musegan.gradient_penalty(D, r, f))
    for a, b in zip(list(G1.parameters()) + list(D1.parameters()), list(G2.parameters()) + list(D2.parameters())):
        torch.testing.assert_close(a, b)


for design in musegan.DESIGNS:
    check_against_package(design)
print("wgan_gp_step == gan_zoo.zoo_step with the Wasserstein losses and MuseGAN's penalty, for all three designs")

# %% [markdown]
# Each design trains for the same number of generator steps from the same seed (a few minutes each at `small`).

# %%
batch_size = sizes["batch_size"]  # half the scale's batch: on a CPU, more and smaller steps learn faster
curves, generators, seconds = {}, {}, {}
for design in musegan.DESIGNS:
    train.seed_everything(0)
    G, D = musegan.build(design, z_part=Z, width=width, critic_width=critic_width, straight_through=True)
    G, D = G.to(device), D.to(device)
    opt_G, opt_D = musegan.optimizers(G, D, LR)
    batches = data.Batches(x_data.to(device), batch_size=min(batch_size, len(x_data)), seed=0)
    rows, t0 = [], time.perf_counter()
    for step in tqdm(range(1, steps + 1), desc=design, mininterval=1.0):
        rows.append({"step": step, **wgan_gp_step(G, D, opt_G, opt_D, batches)})
    curves[design], generators[design], seconds[design] = rows, G.eval(), time.perf_counter() - t0
    print(f"{design:9}: {steps} G steps ({steps * N_CRITIC} critic steps) in {seconds[design]:.0f} s; "
          f"critic's estimate of W at the end {sum(r['W'] for r in rows[-20:]) / len(rows[-20:]):.2f} "
          f"(mean of the last 20 steps)")

fig, ax = plt.subplots(figsize=(7, 3))
for design, rows in curves.items():
    w = torch.tensor([r["W"] for r in rows])
    k = max(1, len(w) // 20)
    ax.plot(torch.arange(len(w))[k - 1:] + 1, w.unfold(0, k, 1).mean(1), label=design)
ax.set_xlabel("G step"), ax.set_ylabel("E[D(x)] - E[D(G(z))]"), ax.set_title("the critic's Wasserstein estimate")
ax.legend(), ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# The critic's estimate of the Wasserstein distance between real and generated segments falls as $G$ learns; it is
# comparable between the two designs with one critic (composer, hybrid), not with jamming, whose $K$ critics each
# see one track.
#
# ## 5 · Results: the three designs against the data
#
# Each design generates as many segments as the metrics use (`S.n_eval`), from the same noise seed, binarised by
# thresholding at 1/2 (what the straight-through generator already outputs).

# %%
samples = {d: mm.binarize(musegan.generate(G, S.n_eval, seed=1)) for d, G in generators.items()}
for d, s in samples.items():
    results[d] = mm.summary(mm.evaluate(s))
print(mm.table(results, ranges))


def closer_than_random(s, ref=results["training data"], keys=("UPC", "QN", "TD", "PP")):
    """The metrics on which s is nearer the training data's value than the random rolls' value is (EB is left
    out: neither the data nor random rolls have empty bars, so it cannot separate them)."""
    r = results["random rolls"]
    return [k for k in keys if abs(s[k] - ref[k]) < abs(r[k] - ref[k])]


for d in musegan.DESIGNS:
    print(f"{d:9}: closer to the training data than random rolls on {closer_than_random(results[d])}")

# %% [markdown]
# Read the table column by column against the first row. At `small` (750 generator steps per design, about two
# minutes each), all three designs are closer to Bach than random rolls with the same note density on every metric
# that separates the two: about 4.5 pitch classes per bar instead of 8.8 (Bach: 3.3), 30–60 % qualified notes
# instead of 2 % (Bach: 97.5 %), a tonal distance between voices of 0.83–0.88, inside the data's range (random:
# 0.52), and fewer chords inside a voice (18–24 % of steps instead of 25 %). EB is inside the data's range too: two
# of the four families for composer and hybrid. None is Bach yet: the voices still change notes too often, and
# still sound two pitches at once, which no chorale voice does; those are the metrics a longer run must close.
# How the three designs rank is not a stable result at this training length (another seed can swap them); the
# paper, after 50,000 steps on a larger corpus, found the hybrid and composer designs ahead of jamming on
# inter-track harmony (TD), which is what a shared latent is for.
#
# Samples, each segment in one panel, soprano red, alto orange, tenor green, bass blue:

# %%
shown = torch.cat([x_data[:4]] + [samples[d][:4] for d in musegan.DESIGNS])
titles = [f"Bach #{i}" for i in range(4)] + [f"{d} #{i}" for d in musegan.DESIGNS for i in range(4)]
music.plot_segments(shown, titles, settings)
plt.show()
music.plot_tracks(samples["hybrid"][0], settings, title="hybrid, sample 0, one panel per track")
plt.show()

# %% [markdown]
# **MIDI and audio.** A roll becomes a standard MIDI file, one track per voice, with each run of ones one note;
# reading the file back gives the same roll. Any MIDI player or notation program opens the files in the run folder.

# %%
out_dir = data.runs_dir() / f"musegan-notebook-{S.name}"
for d in musegan.DESIGNS:
    path = music.write_midi(samples[d][0], out_dir / f"{d}_0.mid", settings, bpm=80)
    back = music.read_midi(path, settings, n_steps=settings.n_bars * settings.steps_per_bar)  # (K, N·T, P)
    assert torch.equal(back, samples[d][0].flatten(1, 2).bool())
print(f"MIDI files (round trip checked): {sorted(p.name for p in out_dir.glob('*.mid'))} in {out_dir}")
display(Audio(music.synthesize(samples["hybrid"][0], settings, bpm=80, rate=RATE), rate=RATE))

# %% [markdown]
# ## Summary
#
# * A piano roll is a binary tensor; MuseGAN's is bars × steps × pitches × tracks. Ours: 4 bars of 16 sixteenth
#   steps, 48 pitches (MIDI 36–83), 4 voices, chorales transposed to C major / A minor.
# * Three latent designs: **jamming** (private latents, one critic per track), **composer** (one shared latent),
#   **hybrid** (both); a temporal generator gives each bar its own latent, so a phrase can change from bar to bar.
# * MuseGAN is a WGAN-GP; binarising inside the generator with a straight-through gradient (BinaryMuseGAN) lets the
#   critic compare notes with notes.
# * Music is measured by statistics compared with the training data's (EB, UPC, QN, TD, and PP here): after two
#   minutes of CPU training per design the generated chorales are closer to Bach's than random rolls on UPC, QN, TD
#   and PP, and inside the data's range on EB and TD; they still fragment their lines (QN) and play chords inside
#   a voice (PP). `course train musegan --scale full` trains 50,000 steps per design on a GPU to aim for the data's
#   range on three of the four metric families.
