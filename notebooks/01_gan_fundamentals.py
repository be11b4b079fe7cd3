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
# # 01 · GAN fundamentals
#
# A generative adversarial network (Goodfellow et al., 2014) trains two networks against each other: a
# **generator** $G$ that turns noise $z$ into samples, and a **discriminator** $D$ that tells real samples from
# generated ones. This chapter builds the game from its equation up and checks every claim with a measurement.
#
# **You will**
# 1. write the minimax value function and both players' losses on logits, with the right signs;
# 2. derive the optimal discriminator $D^*(x)=\frac{p_\text{data}(x)}{p_\text{data}(x)+p_g(x)}$ and watch a trained
#    $D$ find it;
# 3. see why the *saturating* generator loss stalls and the *non-saturating* one does not;
# 4. train a GAN to equilibrium on 1-D data ($D \to 1/2$), then meet **mode collapse** on the 8-Gaussian ring and
#    the 5×5 grid, measured by modes recovered and high-quality samples;
# 5. train an MLP GAN on MNIST with checkpoints you can resume.
#
# **Prerequisites:** PyTorch basics (modules, autograd, optimisers), probability densities, expectation.
#
# **Scale.** `COURSE_SCALE=smoke|small|full` changes only the numbers (steps, widths, samples). `small` (the
# default) runs in a few minutes on a laptop CPU; `smoke` is what CI runs; the numbers quoted in the text are
# from `small`.

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import data, losses, metrics, plotting, train
from course_lib.checks import ch01 as check
from course_lib.models.mlp import Discriminator, Generator
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

# %% [markdown]
# ## 1 · The game
#
# $D(x)\in(0,1)$ is the probability that $x$ is real. The value function of the game is
#
# $$\min_G \max_D V(D,G) = \mathbb{E}_{x\sim p_\text{data}}[\log D(x)] + \mathbb{E}_{z\sim p_z}[\log(1-D(G(z)))].$$
#
# * $D$ **maximises** $V$: it wants $D(x)\to 1$ on real data and $D(G(z))\to 0$ on fakes. That is binary
#   cross-entropy with labels real = 1, fake = 0, so $D$ minimises $-V$.
# * $G$ **minimises** $V$. Only the second term depends on $G$, so $G$ minimises
#   $\mathbb{E}_z[\log(1-D(G(z)))]$, i.e. it pushes $D(G(z))$ *up* towards 1.
#
# > **Common misconception.** Some texts write "G minimises V, i.e. *maximises* $\log(1-D(G(z)))$". The sign is
# > wrong: minimising $V$ means *minimising* $\log(1-D(G(z)))$. Maximising it would help $D$, not fool it.
#
# Networks output a **logit** $l$ and $D(x)=\sigma(l)$. Computing $\log\sigma(l)$ as `log(sigmoid(l))` underflows
# to $-\infty$ once $D$ is confident, so we use the identities $\log\sigma(l)=-\operatorname{softplus}(-l)$ and
# $\log(1-\sigma(l))=-\operatorname{softplus}(l)$. Here are the three losses, each the quantity its player minimises:

# %%
def d_loss(real_logits, fake_logits):  # -V:  -E[log D(x)] - E[log(1 - D(G(z)))]
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_saturating(fake_logits):  # E[log(1 - D(G(z)))]
    return -F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits):  # -E[log D(G(z))]
    return F.softplus(-fake_logits).mean()


# The package holds the same functions; this cell checks they agree (and that softplus is really log-sigmoid).
l_real, l_fake = torch.randn(256), torch.randn(256)
torch.testing.assert_close(d_loss(l_real, l_fake), losses.d_loss(l_real, l_fake))
torch.testing.assert_close(g_loss_saturating(l_fake), losses.g_loss_saturating(l_fake))
torch.testing.assert_close(g_loss_nonsaturating(l_fake), losses.g_loss_nonsaturating(l_fake))
torch.testing.assert_close(d_loss(l_real, l_fake),
                           -(torch.sigmoid(l_real).log().mean() + (1 - torch.sigmoid(l_fake)).log().mean()))
print("losses match course_lib.losses and the log-sigmoid formulas")

# %% [markdown]
# ## 2 · The optimal discriminator
#
# For a fixed $G$, write $V$ as one integral over $x$ (the fakes have density $p_g$):
#
# $$V(D,G)=\int \big[p_\text{data}(x)\log D(x) + p_g(x)\log(1-D(x))\big]\,dx .$$
#
# Pointwise, $a\log y + b\log(1-y)$ is maximised at $y=\frac{a}{a+b}$, so
#
# $$D^*(x)=\frac{p_\text{data}(x)}{p_\text{data}(x)+p_g(x)} .$$
#
# **Exercise 1.** Write $D^*$ as a function of the two densities (tensors of the same shape).

# %% tags=["exercise"]
def optimal_discriminator(p_data, p_g):
    ### BEGIN SOLUTION
    return p_data / (p_data + p_g)
    ### END SOLUTION


# %% tags=["check"]
check.optimal_discriminator(optimal_discriminator)

# %% [markdown]
# Plugging $D^*$ back in gives $V(D^*,G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data}\,\|\,p_g)$: for the best
# discriminator, the generator minimises a Jensen–Shannon divergence, whose minimum $-\log 4$ is reached only at
# $p_g=p_\text{data}$.
#
# **Exercise 2.** For two discrete distributions (probability vectors `p_data`, `p_g`), compute $V(D^*,G)$ from its
# definition, using your `optimal_discriminator`. The check compares it with $-\log 4 + 2\,\mathrm{JSD}$.

# %% tags=["exercise"]
def value_at_optimum(p_data, p_g):
    ### BEGIN SOLUTION
    d = optimal_discriminator(p_data, p_g)
    return (p_data * d.log() + p_g * (1 - d).log()).sum()
    ### END SOLUTION


# %% tags=["check"]
check.value_at_optimum(value_at_optimum)

# %% [markdown]
# Does a *trained* discriminator find $D^*$? Freeze the generator's distribution at a known density
# $p_g=\mathcal N(0.5,\,1.5^2)$, let $p_\text{data}$ be a two-component mixture, and train an MLP $D$ with its loss
# alone. Since both densities are known, we can draw $D^*$ exactly and compare.

# %%
p_data = data.mixture_1d(means=(-2.0, 2.0), std=0.5)
p_g = data.Mixture(centers=torch.tensor([[0.5]]), std=1.5)  # the frozen "generator"

torch.manual_seed(0)
D1 = Discriminator(in_shape=(1,), hidden=(64, 64))
opt = torch.optim.Adam(D1.parameters(), lr=2e-3)
for step in range(S.toy_steps):
    real, fake = p_data.sample(S.toy_batch), p_g.sample(S.toy_batch)  # (B, 1) each
    loss = d_loss(D1(real), D1(fake))
    opt.zero_grad()
    loss.backward()
    opt.step()

x = torch.linspace(-5, 5, 401).unsqueeze(1)  # (401, 1)
with torch.no_grad():
    D_trained = torch.sigmoid(D1(x)).squeeze(1)  # (401,)
D_star = optimal_discriminator(p_data.pdf(x), p_g.pdf(x))  # (401,)

# compare where there is data to learn from: where either density is not negligible
support = (p_data.pdf(x) + p_g.pdf(x)) > 0.05
err = (D_trained - D_star).abs()[support]
print(f"|D - D*| where p_data + p_g > 0.05: mean {err.mean():.3f}, max {err.max():.3f}  "
      f"({S.toy_steps} steps of D)")

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.fill_between(x[:, 0], p_data.pdf(x), alpha=0.3, label="$p_{data}$")
ax.fill_between(x[:, 0], p_g.pdf(x), alpha=0.3, label="$p_g$ (frozen)")
ax.plot(x[:, 0], D_star, "k--", label="$D^*(x)$ (formula)")
ax.plot(x[:, 0], D_trained, "r", label="trained $D(x)$")
ax.set_xlabel("x")
ax.legend(frameon=False, fontsize=8)
ax.set_title("A trained discriminator approaches the optimal one")
plt.show()

# %% [markdown]
# ## 3 · Saturating vs non-saturating generator loss
#
# Early in training $G$ is poor, $D$ wins easily and $D(G(z))\approx 0$. Differentiate each generator loss with
# respect to the fake logit $l$ (with $D=\sigma(l)$):
#
# * saturating, $\log(1-\sigma(l))$: $\;\partial/\partial l = -\sigma(l) = -D(G(z)) \to 0$. **No signal exactly
#   when $G$ needs it.**
# * non-saturating, $-\log\sigma(l)$: $\;\partial/\partial l = -(1-\sigma(l)) \to -1$. Strong signal.
#
# Both losses push $D(G(z))$ up and share the same fixed points; only the size of the gradient differs.
#
# **Exercise 3.** Write the non-saturating loss on logits. It must stay finite when $D$ is sure a sample is fake
# (logit $-200$).

# %% tags=["exercise"]
def nonsaturating_loss(fake_logits):
    ### BEGIN SOLUTION
    return F.softplus(-fake_logits).mean()
    ### END SOLUTION


# %% tags=["check"]
check.nonsaturating_loss(nonsaturating_loss)

# %%
logits = torch.linspace(-8, 8, 200, requires_grad=True)
grads = {}
for name, fn in losses.G_LOSSES.items():
    (g,) = torch.autograd.grad(fn(logits) * len(logits), logits)  # per-sample d loss / d logit
    grads[name] = g.abs()

fig, ax = plt.subplots(figsize=(6, 3.2))
D_of_fake = torch.sigmoid(logits).detach()
for name, g in grads.items():
    ax.plot(D_of_fake, g, label=name)
ax.set_xlabel("D(G(z))")
ax.set_ylabel("|d loss / d logit|")
ax.set_title("Gradient reaching G through the fake logit")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# The same effect, measured on networks: a discriminator trained for a while against an untrained generator is
# confident, and we compare the size of the gradient each loss sends into $G$'s weights.

# %%
torch.manual_seed(0)
ring8 = data.ring(modes=8, radius=2.0, std=0.02)
G0 = Generator(z_dim=2, out_shape=(2,), hidden=(128, 128))
D0 = Discriminator(in_shape=(2,), hidden=(128, 128))
opt_D0 = torch.optim.Adam(D0.parameters(), lr=1e-3)
for _ in range(max(50, S.toy_steps // 10)):  # D only: G stays untrained
    with torch.no_grad():
        fake = G0(torch.randn(S.toy_batch, 2))  # (B, 2)
    train.d_step(D0, ring8.sample(S.toy_batch), fake, opt_D0)

fake = G0(torch.randn(S.toy_batch, 2))
with torch.no_grad():
    print(f"mean D(G(z)) = {torch.sigmoid(D0(fake)).mean():.4f}  (D is confident these are fake)")
for name, fn in losses.G_LOSSES.items():
    g = torch.autograd.grad(fn(D0(fake)), list(G0.parameters()), retain_graph=True)
    norm = torch.sqrt(sum(t.pow(2).sum() for t in g))
    print(f"{name:>15} loss: |grad wrt G's weights| = {norm:.2e}")

# %% [markdown]
# ## 4 · One training step, and the equilibrium
#
# Training alternates the two players, each with its own optimiser:
#
# 1. **D step:** draw real $x$ and fakes $G(z)$; update $D$ to minimise $-V$. The fakes are `detach`ed: this
#    loss must move $D$ only.
# 2. **G step:** update $G$ through the *updated* $D$ with the non-saturating loss.
#
# Here is that step written out; the cell after it checks it against `course_lib.train.gan_step`, which the
# rest of the course uses.

# %%
def gan_step(G, D, opt_G, opt_D, real, z_dim):
    z = torch.randn(real.shape[0], z_dim)  # (B, Z)
    fake = G(z)  # (B, ...)
    # --- D step: maximise log D(x) + log(1 - D(G(z))) ---
    loss_D = d_loss(D(real), D(fake.detach()))  # detach: no gradient into G from D's loss
    opt_D.zero_grad()
    loss_D.backward()
    opt_D.step()
    # --- G step: maximise log D(G(z)) through the updated D ---
    loss_G = g_loss_nonsaturating(D(fake))
    opt_G.zero_grad()
    loss_G.backward()
    opt_G.step()
    return loss_D.item(), loss_G.item()


def make_pair(seed):
    torch.manual_seed(seed)
    G = Generator(z_dim=1, out_shape=(1,), hidden=(64, 64))
    D = Discriminator(in_shape=(1,), hidden=(64, 64))
    return G, D, torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999)), torch.optim.Adam(
        D.parameters(), 1e-3, betas=(0.5, 0.999))


real = p_data.sample(64)  # (64, 1)
Ga, Da, oGa, oDa = make_pair(1)
Gb, Db, oGb, oDb = make_pair(1)
torch.manual_seed(2)
gan_step(Ga, Da, oGa, oDa, real, z_dim=1)
torch.manual_seed(2)
train.gan_step(Gb, Db, oGb, oDb, real, z_dim=1)
for pa, pb in zip(list(Ga.parameters()) + list(Da.parameters()), list(Gb.parameters()) + list(Db.parameters())):
    torch.testing.assert_close(pa, pb)
print("the step above and course_lib.train.gan_step give identical weights")

# %% [markdown]
# Now train on the 1-D mixture and watch $p_g$ and $D$ evolve, as in Figure 1 of the GAN paper. At the
# equilibrium $p_g=p_\text{data}$, so $D^*(x)=\tfrac12$ everywhere: $D$ can do no better than a coin flip.

# %%
G1, D1, opt_G1, opt_D1 = make_pair(0)
snapshots, history = {}, []
batches = p_data.batches(S.toy_batch)  # an endless stream of real batches (B, 1)
shots = sorted({0, S.toy_steps // 20, S.toy_steps // 4, S.toy_steps})
for step in range(S.toy_steps + 1):
    if step in shots:
        with torch.no_grad():
            snapshots[step] = (G1(torch.randn(20_000, 1)).squeeze(1), torch.sigmoid(D1(x)).squeeze(1))
    if step == S.toy_steps:
        break
    stats = train.gan_step(G1, D1, opt_G1, opt_D1, next(batches), z_dim=1)
    history.append((stats["D_real"].item(), stats["D_fake"].item()))

fig, axes = plt.subplots(1, len(shots), figsize=(3.2 * len(shots), 2.8), sharey=True)
for ax, step in zip(axes, shots):
    samples, Dx = snapshots[step]
    ax.hist(samples.clamp(-5, 5), bins=80, range=(-5, 5), density=True, alpha=0.5, color="tab:green", label="$p_g$")
    ax.plot(x[:, 0], p_data.pdf(x), "k", lw=1, label="$p_{data}$")
    ax.plot(x[:, 0], Dx, "b--", label="D(x)")
    ax.axhline(0.5, color="gray", lw=0.5)
    ax.set_title(f"step {step}")
axes[0].legend(frameon=False, fontsize=7)
plt.show()

tail = torch.tensor(history[-max(1, len(history) // 10):])
print(f"last 10% of steps: mean D(x) = {tail[:, 0].mean():.3f}, mean D(G(z)) = {tail[:, 1].mean():.3f} "
      f"(equilibrium: 0.5 and 0.5)")

# %% [markdown]
# ## 5 · Mode collapse
#
# On a multi-modal target, $G$ often covers only some modes, or hops from mode to mode as $D$ chases it: **mode
# collapse**. Two standard testbeds make it measurable: 8 Gaussians on a ring and a 5×5 grid. Following VEEGAN and
# PacGAN, a generated sample is **high quality** if it lies within $3\sigma$ of its nearest mode, and a mode is
# **recovered** when it receives a reasonable share of them (`course_lib.metrics.mode_coverage`).
#
# We train the same networks with both generator losses (`train.train_gan` wraps exactly the step above with a
# progress bar and a metrics log).

# %%
Z_TOY = 2  # as many latent dimensions as the data has


def toy_gan(mixture, g_loss, seed=0):
    torch.manual_seed(seed)
    G = Generator(z_dim=Z_TOY, out_shape=(2,), hidden=(128, 128, 128))
    D = Discriminator(in_shape=(2,), hidden=(128, 128, 128))
    opt_G = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
    real_batches = mixture.batches(S.toy_batch, seed=seed)  # endless (B, 2) batches
    frames, z_show = [], torch.randn(2_000, Z_TOY, generator=torch.Generator().manual_seed(1))  # fixed z

    def snapshot(step):
        if step % max(1, S.toy_steps // 4) == 0:
            with torch.no_grad():
                frames.append((step, G(z_show)))

    log = train.train_gan(G, D, opt_G, opt_D, real_batches, steps=S.toy_steps, z_dim=Z_TOY, g_loss=g_loss,
                          log_every=max(1, S.toy_steps // 100), on_step=snapshot, desc=f"{g_loss.__name__}")
    with torch.no_grad():
        samples = G(torch.randn(S.toy_eval_samples, Z_TOY))  # (N, 2)
    return samples, frames, log


results = {}
for name, mixture in {"8-ring": data.ring(std=0.05), "5x5 grid": data.grid(std=0.05)}.items():
    for loss_name, g_loss in losses.G_LOSSES.items():
        samples, frames, log = toy_gan(mixture, g_loss)
        results[name, loss_name] = (mixture, samples, frames, log,
                                    metrics.mode_coverage(samples, mixture.centers, mixture.std))

for (name, loss_name), (*_, cov) in results.items():
    print(f"{name:>8}  {loss_name:>15}:  {cov}")

# %%
for (name, loss_name), (mixture, samples, frames, log, cov) in results.items():
    fig, axes = plt.subplots(1, len(frames) + 1, figsize=(2.4 * (len(frames) + 1), 2.6))
    for ax, (step, pts) in zip(axes, frames):
        plotting.scatter_2d(pts, mixture, ax=ax, title=f"step {step}", s=1)
    plotting.scatter_2d(samples[:2_000], mixture, ax=axes[-1], title=f"final: {cov.modes}/{cov.total} modes", s=1)
    fig.suptitle(f"{name}, {loss_name} loss", fontsize=10)
    plt.show()

# %% [markdown]
# Read the snapshots from left to right. Early on, the generator's mass sits on a few modes and moves as $D$
# learns to reject them; whether it then spreads out depends on the target, the loss, the seed and the budget.
# At `small` scale with seed 0 (the numbers printed above), both losses find 7 or 8 of the 8 ring modes with
# over 90 % high-quality samples, but on the 5×5 grid the non-saturating GAN misses 6 of the 25 modes and puts
# about 30 % of its samples *between* modes, where a continuous map from a Gaussian has to pass. One run is one
# sample: change the seed and the counts move. Chapter 03 compares the losses and the tricks meant to help
# (Wasserstein, hinge, spectral norm, R1) on the same grid.
#
# ## 6 · An MLP GAN on MNIST
#
# The same step on images: $G$ maps $z\in\mathbb R^{64}$ to a 28×28 image in $[-1,1]$ (Tanh output, matching the
# data's scaling), $D$ maps an image to a logit. With a run folder, `train.train_gan` saves a checkpoint every
# few hundred steps and **resumes** from it if the run is interrupted (re-run the cell: it picks up where it
# stopped), logs metrics to `metrics.jsonl` and saves sample grids of a fixed $z$.

# %%
x_train, y_train = data.load_images("mnist", train=True, n=S.n_train)  # (N, 1, 28, 28) in [-1, 1]
print(f"MNIST: {tuple(x_train.shape)} images, values in [{x_train.min():.0f}, {x_train.max():.0f}]")

torch.manual_seed(0)
Z = 64
G = Generator(z_dim=Z, out_shape=(1, 28, 28), hidden=(2 * S.width, 4 * S.width), tanh=True).to(device)
D = Discriminator(in_shape=(1, 28, 28), hidden=(4 * S.width, 2 * S.width)).to(device)
opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

run_dir = data.runs_dir() / "01-mlp-gan-mnist" / S.name
log = train.train_gan(G, D, opt_G, opt_D, data.Batches(x_train, batch_size=S.batch_size, seed=0),
                      steps=3 * S.image_steps, z_dim=Z, run_dir=run_dir, log_every=S.log_every,
                      ckpt_every=S.ckpt_every, sample_every=S.ckpt_every, desc="MNIST MLP GAN")
print(f"run folder: {run_dir}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [1.3, 1.3, 1]})
plotting.loss_curves(log, ("loss_D", "loss_G"), ax=axes[0], title="losses", smooth=5)
plotting.loss_curves(log, ("D_real", "D_fake"), ax=axes[1], title="D(x) and D(G(z))", smooth=5)
with torch.no_grad():
    G.eval()
    fake = G(torch.randn(64, Z, device=device))  # (64, 1, 28, 28)
    G.train()
plotting.image_grid(fake, nrow=8, ax=axes[2], title="G(z) after training")
plt.show()

# %% [markdown]
# Look at the grid before trusting the curves. At `small` scale (4,500 steps) the MLP's digits are rough, and
# they lean towards the easiest classes (many 1s and 7s): mode dropping again, now on real data. $D$'s loss sits
# well below $G$'s for most of the run, the sign of a discriminator that wins. Convolutions (chapter 02) and the
# training recipes of chapter 03 address both.
#
# ## 7 · The strengths and weaknesses of GANs, made concrete
#
# The source lists the advantages and drawbacks of GANs. Each is a claim we can point at:
#
# | claim | where you see it |
# |---|---|
# | $G$ learns from $D$'s gradient, not from data directly | the G step above: `g_loss(D(fake))` is the only thing $G$ ever sees |
# | any differentiable $G$ and $D$ will do | MLPs here; convolutions (ch. 02), attention (ch. 06), transformers (ch. 08) |
# | sampling is one forward pass, no Markov chain | `G(z)` above: 64 digits in one call |
# | no likelihood bound, so samples are sharper than a VAE's | measured side by side in chapter 05 |
# | training seeks a Nash equilibrium that gradient descent may not reach | §5: mode hopping and collapse; chapter 03 |
# | no explicit density $p_g$: evaluation needs sample-based metrics | mode counts here; FD / KID from chapter 02 on |
# | hard to generate discrete data | piano rolls need binarisation in chapter 11 |
#
# ## Summary
#
# * $D$ maximises $V$; $G$ minimises it. In code both are cross-entropies on logits, written with `softplus`.
# * For a fixed $G$ the best $D$ is $p_\text{data}/(p_\text{data}+p_g)$, and a trained $D$ gets close to it.
# * The saturating loss starves $G$ of gradient exactly when $D$ is winning; use the non-saturating loss.
# * At equilibrium $D(x)=\tfrac12$; in practice GANs can collapse onto a few modes, which we can count.
#
# Next: **chapter 02 — DCGAN**, where convolutions make image GANs work and FD / KID measure them.
