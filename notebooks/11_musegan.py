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
# **Scale.** Numbers quoted in the text come from the verified run at `small` (750 generator steps per design on a
# laptop CPU; `results/record.md`). At `full`, `course train musegan --scale full` trains all three designs on every
# chorale, 50,000 steps each (the default of the authors' second repository; the AAAI paper's configuration differs),
# on a GPU (bf16). The course's target: the metrics within the training data's range on at least three of the four
# metric families. That "within range" rule is the course's; MuseGAN's tables compare each model's values with the
# training data's values.

# %%
import copy
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import Audio, display
from tqdm.auto import tqdm

from course_lib import data, gan_zoo, losses, music, plotting, train
from course_lib import music_metrics as mm
from course_lib.checks import ch11 as check
from course_lib.claims import claim, measured
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
sizes = musegan.default_sizes(S)  # this chapter's numbers at this scale
bach = music.load_bach(sizes["n_chorales"], S.n_train, settings)  # chorales: smoke 16, small 156, full all 371
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
# * **PP**, polyphonicity: the fraction of steps in which a track sounds more than one pitch. The AAAI reference code
#   computes it (`metric_polyphonic_ratio`, the same two-or-more-pitches rule) but the paper does not report it. A
#   chorale voice never sounds two pitches.
# * **TD**, tonal distance between two tracks (Harte et al. 2006): in each bar, a track's chroma $c \in
#   \mathbb{R}^{12}$ (how many steps each pitch class sounds) becomes a 6-D **tonal centroid**
#
# $$\zeta = \frac{\Phi\, c}{\lVert c\rVert_1}, \qquad \Phi_{\cdot, l} = \big(r_1 \sin\tfrac{7\pi l}{6},\ r_1\cos\tfrac{7\pi l}{6},\ r_2 \sin\tfrac{3\pi l}{2},\ r_2\cos\tfrac{3\pi l}{2},\ r_3 \sin\tfrac{2\pi l}{3},\ r_3\cos\tfrac{2\pi l}{3}\big),$$
#
#   pitch class $l$ placed on the circle of fifths, of minor thirds and of major thirds ($r_1 = r_2 = 1$,
#   $r_3 = 0.5$); then $\text{TD}_{ij} = \lVert \zeta_i - \zeta_j \rVert_2$, averaged over the bars where both tracks
#   play. Tracks in harmony have nearby centroids. We take one chroma **per bar**; the reference code takes one per
#   *beat* (24 steps at its resolution, 4 at ours) and averages. A beat pools fewer notes, so its distances are larger:
#   our TD values are not comparable with the paper's.
#
# > **Common misconception.** "The reference implementation's chroma is the definition." Its `to_chroma` reshapes the
# > pitch axis as (12, P/12) and sums over the second axis, so each "pitch class" is a block of P/12 adjacent pitches
# > (7 of its 84), not one note name in every octave (the same slip was fixed in pypianoroll). The chroma of Harte
# > et al. folds octaves: pitch $m$ goes to class $m \bmod 12$, as in the exercise below. The paper's published UPC and TD came from that
# > code, one more reason not to compare our numbers with its tables.
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
# values come with a **range**: each chorale is measured on its own segments, and the range is the mean ± one
# standard deviation of those per-chorale values, clipped to the smallest and largest value observed
# (`mm.data_range`). A percentile range would not do: most chorales have no empty bar at all, so the 10th–90th
# percentile of EB is [0, 0] and would exclude the data's own mean. The baseline is **random rolls**:
# every cell an independent coin flip with the track's note density, so the same number of notes, with no musical
# structure at all.

# %%
torch.testing.assert_close(used_pitch_classes(x_data), mm.used_pitch_classes(x_data))
torch.testing.assert_close(tonal_centroid(mm.chroma(x_data[:64])), mm.tonal_centroid(mm.chroma(x_data[:64])))

ranges = mm.data_range(x_data, bach["chorale"])
random_rolls = mm.random_rolls(sizes["n_eval"], x_data, torch.Generator().manual_seed(0))
results = {"training data": mm.summary(mm.evaluate(x_data)),
           "random rolls": mm.summary(mm.evaluate(random_rolls))}
print(mm.table(results, ranges))
m = mm.evaluate(x_data)
print("\nper voice (training data):  " + "   ".join(
    f"{v}: UPC {m['UPC'][k]:.2f}, QN {100 * m['QN'][k]:.1f} %" for k, v in enumerate(music.TRACKS)))
print("tonal distance, soprano vs alto / tenor / bass: "
      + ", ".join(f"{m['TD'][0, k]:.2f}" for k in (1, 2, 3)))
for source, key in (("training data", "data"), ("random rolls", "random")):
    for k in ("UPC", "QN", "PP", "EB", "TD"):
        measured(f"{key}_{k.lower()}", results[source][k])

# %% [markdown]
# A voice of a chorale uses about three pitch classes per bar ({rec:data_upc:.2f}), almost never a note shorter than
# an eighth ({rec:data_qn:.1%} of its notes qualify) and never two pitches at once (PP {rec:data_pp:.1%}); its bars are
# almost never empty. Random rolls with the same number of notes use most of the 12 classes in every bar
# ({rec:random_upc:.2f}), almost none of their notes is two steps long (QN {rec:random_qn:.1%}), and a quarter of their
# steps are chords (PP {rec:random_pp:.1%}). EB cannot tell them apart (neither has empty bars); the other metrics
# can.
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
# The three designs at this scale: the latent sizes, the parameter counts, and what one latent part controls. A
# shared network gets $\sqrt K$ times the width of a per-track one, which keeps the critics alike in size but not
# the generators: jamming's {rec:params_g_jamming:.0f}k, composer's {rec:params_g_composer:.0f}k and hybrid's
# {rec:params_g_hybrid:.0f}k generator weights (hybrid has the shared and the private networks, and the widest bar
# input). So a comparison of the designs is also a comparison of sizes. Changing the shared $z$ of the hybrid changes
# all four tracks; changing the private $z_k$ of the tenor changes only the tenor.

# %%
width, critic_width, steps = sizes["width"], sizes["critic_width"], sizes["steps"]
Z = 16  # size of one latent part
for design in musegan.DESIGNS:
    G, D = musegan.build(design, z_part=Z, width=width, critic_width=critic_width)
    n_G, n_D = (sum(p.numel() for p in net.parameters()) / 1e3 for net in (G, D))
    measured(f"params_g_{design}", n_G, unit="thousand")
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
        assert moved.sum() == (4 if lo == 0 else 1) and (lo == 0 or moved[2]), "a latent part moves the wrong tracks"
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
# binarises with hard notes $\mathbb{1}[p > 1/2]$ in the forward pass and lets the gradient through as if the
# threshold were the identity (a *straight-through estimator*); it does so in a *refiner* network trained on top of a
# pretrained generator. We simplify: our $G$'s last layer binarises straight-through from the first step, so the
# critic compares notes with notes.
#
# > **Common misconception.** The source text writes MuseGAN's objective as the original GAN's log-loss,
# > $-\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(G(z)))]$, and suggests adding rule-based losses for rhythm and
# > harmony. MuseGAN uses neither: it trains a WGAN-GP (a critic with unbounded scores and a gradient penalty, five
# > critic steps per generator step), and its musical metrics are used only to *evaluate* the samples, never as a
# > loss.
#
# The data flow of one step (hybrid design), then the step written out (chapter 03's `gan_zoo.zoo_step` does the
# same, checked below on copies of the models):

# %%
plotting.flow_diagram(
    {"z": (0.08, 0.85, "shared z, z_t\nprivate z_k, z_k,t"), "Gt": (0.25, 0.55, "G_temp, G_temp,k\n(one vector per bar)"),
     "h": (0.52, 0.85, "h_k,t (B, K, N, 4Z)"), "G": (0.82, 0.85, "bar generators G_k\n+ straight-through binarise"),
     "fake": (0.82, 0.5, "fake roll (B, K, N, T, P)"), "real": (0.52, 0.5, "Bach segment (B, K, N, T, P)"),
     "D": (0.55, 0.2, "critic D\n(1 score, K for jamming)"),
     "lossD": (0.2, 0.12, "L_D = E[D(x̃)] − E[D(x)] + λ·GP\n(5 steps, D only)"),
     "lossG": (0.88, 0.12, "L_G = −E[D(x̃)]\n(G only, D frozen)")},
    [("z", "Gt", ""), ("Gt", "h", ""), ("z", "h", "time-independent parts"), ("h", "G", ""), ("G", "fake", ""),
     ("fake", "D", "x̃.detach() for D's step"), ("real", "D", ""), ("D", "lossD", ""), ("D", "lossG", "")],
    title="MuseGAN (hybrid): latents -> bars -> critic", size=(10.0, 3.6))
plt.show()

# %% [markdown]
# The step:

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
# Each design trains for the same number of generator steps from the same seed (about a minute each at `small` on a
# quiet laptop CPU).

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
k = max(1, min(50, steps // 4))  # the first and the last k G steps
mean_w = lambda rows: sum(r["W"] for r in rows) / len(rows)  # noqa: E731
w_ratio = [mean_w(rows[:k]) / max(1e-6, mean_w(rows[-k:])) for rows in curves.values()]
claim("w_falls", w_ratio, ">=", 3.0, f"the critic's W estimate over the first {k} G steps divided by that over the "
      f"last {k} (mean of the 3 designs)")
print("W, first / last steps: " + ", ".join(f"{d} {r:.1f}" for d, r in zip(curves, w_ratio)))

# %% [markdown]
# The critic's estimate of the Wasserstein distance between real and generated segments falls as $G$ learns (over the
# first 50 G steps it is {rec:w_falls:.0f} times its value over the last 50, in the mean of the designs); it is
# comparable between the two designs with one critic (composer, hybrid), not with jamming, whose $K$ critics each
# see one track.
#
# ## 5 · Results: the three designs against the data
#
# Each design generates as many segments as the metrics use (`sizes["n_eval"]`: the scale's `n_eval`, capped at
# 10,000), from the same noise seed, binarised by thresholding at 1/2 (what the straight-through generator already
# outputs).

# %%
samples = {d: mm.binarize(musegan.generate(G, sizes["n_eval"], seed=1)) for d, G in generators.items()}
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
    for k in ("UPC", "QN", "PP", "TD", "EB"):
        measured(f"{d}_{k.lower()}", results[d][k])
    measured(f"{d}_in_range", sum(mm.within(results[d], ranges).values()))
designs = musegan.DESIGNS
claim("closer_than_random", [len(closer_than_random(results[d], keys=("UPC", "QN", "TD"))) for d in designs],
      ">=", 2.5, "of UPC, QN and TD, the metrics on which a design is closer to Bach than random rolls "
      "(mean over the 3 designs, each its own training run)")
claim("qn_above_random", [results[d]["QN"] for d in designs], ">=", 0.15,
      "fraction of qualified notes in the generated voices (mean over the 3 designs; random rolls: "
      f"{results['random rolls']['QN']:.3f})")
claim("qn_below_data", [results[d]["QN"] for d in designs], "<", ranges["QN"][0],
      "the generated voices still fragment their lines: QN below the data's range (mean over the 3 designs)")
measured("data_qn_low", ranges["QN"][0])
measured("pp_designs", [results[d]["PP"] for d in designs])
measured("upc_designs", [results[d]["UPC"] for d in designs])
measured("qn_designs", [results[d]["QN"] for d in designs])
measured("td_designs", [results[d]["TD"] for d in designs])
measured("data_td_low", ranges["TD"][0])
measured("data_td_high", ranges["TD"][1])
print(f"the data's TD range {ranges['TD'][0]:.2f}-{ranges['TD'][1]:.2f}; the designs' TD "
      + ", ".join(f"{d} {results[d]['TD']:.2f}" for d in designs))

# %% [markdown]
# Read the table column by column against the first row. At `small` (750 generator steps per design), the three
# designs are closer to Bach than random rolls with the same note density on the three metrics that carry musical
# structure: {rec:upc_designs:.1f} pitch classes per bar on average over the designs instead of {rec:random_upc:.1f}
# (Bach: {rec:data_upc:.1f}), {rec:qn_designs:.0%} qualified notes instead of {rec:random_qn:.0%} (Bach:
# {rec:data_qn:.0%}), and a tonal distance between voices of {rec:td_designs:.2f} (random: {rec:random_td:.2f}; the
# data's range {rec:data_td_low:.2f}–{rec:data_td_high:.2f}).
#
# **What the small run does not show.** The generated voices are still far from Bach on two metrics:
#
# * **QN**: jamming {rec:jamming_qn:.0%}, composer {rec:composer_qn:.0%}, hybrid {rec:hybrid_qn:.0%} of the notes
#   last an eighth or more, against {rec:data_qn_low:.0%} at the bottom of the data's range: the lines still break
#   into 16th-note fragments;
# * **PP**: {rec:pp_designs:.0%} of steps sound two pitches in one voice, hardly fewer than random rolls
#   ({rec:random_pp:.0%}), where a chorale voice never does ({rec:data_pp:.0%}). On PP the designs are no better than
#   chance.
#
# A likely reason: 750 generator steps is 1.5 % of the 50,000 of the full run, and both metrics are *within-track*
# rules (one note at a time, held for a while) that nothing in the loss states: the critic must discover them from
# the data, and its score is first dominated by coarser statistics such as note density and pitch range (we have not
# measured the order in which it learns them). At `full` the expectation is that QN and PP move towards the data's
# values; this run is no evidence that they will. Each design was trained once (one seed), and the designs differ in
# size, so the table says nothing about which design is best: with one run each, nothing here shows whether their
# differences exceed what another seed would change. The paper, trained far longer on a
# larger multi-track corpus, found the hybrid and composer designs ahead of jamming on inter-track harmony (TD),
# which is what a shared latent is for.
#
# Samples, each segment in one panel, soprano red, alto orange, tenor green, bass blue:

# %%
shown = torch.cat([x_data[:4]] + [samples[d][:4] for d in musegan.DESIGNS])
titles = [f"Bach #{i}" for i in range(4)] + [f"{d} #{i}" for d in musegan.DESIGNS for i in range(4)]
music.plot_segments(shown, titles, settings)
plt.show()
music.plot_tracks(samples["hybrid"][0], settings, title="hybrid, sample 0, one panel per track")
plt.show()
repetition = {"training data": mm.bar_repetition(x_data).mean().item()}
repetition.update({d: mm.bar_repetition(samples[d]).mean().item() for d in designs})
for name, v in repetition.items():
    measured("bar_repetition_" + name.split()[0], v)
print("how much a bar repeats the previous one (Jaccard of its notes, 1 = a copy): "
      + ", ".join(f"{k} {v:.2f}" for k, v in repetition.items()))

# %% [markdown]
# The temporal generator gives each bar its own latent, so a generated phrase *could* change from bar to bar. In this
# run it mostly does not: a generated bar shares {rec:bar_repetition_jamming:.0%} (jamming),
# {rec:bar_repetition_composer:.0%} (composer) and {rec:bar_repetition_hybrid:.0%} (hybrid) of its notes with the
# bar before it, where Bach's bars share {rec:bar_repetition_training:.0%}. The bar-to-bar structure is another thing
# the short run has not learnt yet.

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
for d in designs:  # all three designs, sample 0 of each
    print(d)
    display(Audio(music.synthesize(samples[d][0], settings, bpm=80, rate=RATE), rate=RATE))

# %% [markdown]
# ## Summary
#
# * A piano roll is a binary tensor; MuseGAN's is bars × steps × pitches × tracks. Ours: 4 bars of 16 sixteenth
#   steps, 48 pitches (MIDI 36–83), 4 voices, chorales transposed to C major / A minor.
# * Three latent designs: **jamming** (private latents, one critic per track), **composer** (one shared latent),
#   **hybrid** (both); a temporal generator gives each bar its own latent, so a phrase can change from bar to bar
#   (in the short run it mostly repeats its first bar).
# * MuseGAN is a WGAN-GP; binarising inside the generator with a straight-through gradient (BinaryMuseGAN) lets the
#   critic compare notes with notes.
# * Music is measured by statistics compared with the training data's (EB, UPC, QN, TD, and PP here): after 750
#   generator steps per design the generated chorales are closer to Bach's than random rolls on UPC, QN and TD, and
#   in the data's range on {rec:jamming_in_range} (jamming), {rec:composer_in_range} (composer) and
#   {rec:hybrid_in_range} (hybrid) of the four families; they still fragment their lines (QN far below the data's)
#   and sound two pitches inside a voice about as often as random rolls (PP). `course train musegan --scale full`
#   trains 50,000 steps per design on a GPU to aim for the data's range on three of the four metric families.
