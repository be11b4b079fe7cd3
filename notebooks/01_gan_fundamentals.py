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
# 3. see why the *saturating* generator loss stalls and the *non-saturating* one does not, and why the
#    non-saturating loss is mode-seeking (forward vs reverse KL);
# 4. train a GAN to equilibrium on 1-D data ($D \to 1/2$), then count the modes it finds and drops on the
#    8-Gaussian ring and the 5×5 grid (modes recovered, high-quality samples, three seeds);
# 5. train an MLP GAN on MNIST with checkpoints you can resume.
#
# **Prerequisites:** PyTorch basics (modules, autograd, optimisers), probability densities, expectation.
#
# **Scale.** `COURSE_SCALE=smoke|small|full` changes only the numbers (steps, widths, samples). `small` (the
# default) runs in a few minutes on a laptop CPU; `smoke` is what CI runs; the numbers quoted in the text are
# those of the verified `small` run (`results/record.md`), and each phenomenon the text teaches is a claim the
# notebook checks.

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import data, features, gan_zoo, losses, metrics, plotting, train
from course_lib.checks import ch01 as check
from course_lib.claims import claim, measured
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
claim("dstar_error", float(err.mean()), "<", 0.05,
      "a trained D is within 0.05 of D* on average where the densities are not negligible")

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
# Per sample the two gradients point the same way ($-\sigma(l)$ and $-(1-\sigma(l))$ times $\partial l/\partial\theta$);
# over a batch they weigh the samples differently (the non-saturating loss puts most weight on the fakes D rejects
# hardest), so the *direction* of G's update differs too. Goodfellow (2014) argues that both have the same fixed
# points, a heuristic statement. And they do not follow the same divergence: with the optimal D, the expected
# gradient of the non-saturating loss is that of $\mathrm{KL}(p_g\,\|\,p_\text{data}) - 2\,\mathrm{JSD}$
# (Arjovsky & Bottou 2017, Thm. 2.5), not of the JSD. Its KL term is the *reverse* KL, which is mode-seeking:
# see the cell after the gradients.
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
    measured(f"grad_g_{name.replace('-', '_')}", float(norm))

# %% [markdown]
# With $D$ confident ({rec:grad_g_saturating:.1e} against {rec:grad_g_non_saturating:.1e}), the saturating loss
# sends G a gradient hundreds of times smaller.
#
# **Forward vs reverse KL.** Fit one Gaussian $q$ to the two-mode $p_\text{data}$ of §2 in two ways. Minimising
# the *forward* KL, $\mathrm{KL}(p_\text{data}\,\|\,q)$ (maximum likelihood), punishes $q$ wherever the data has
# mass and $q$ has none: $q$ spreads over both modes and puts mass between them (the blur of a VAE, chapter 05).
# Minimising the *reverse* KL, $\mathrm{KL}(q\,\|\,p_\text{data})$, punishes $q$ wherever *it* has mass and the
# data has none: $q$ sits on one mode and ignores the other. That is the KL term in the non-saturating
# generator's objective, and one reason GANs drop modes rather than blur them.

# %%
xg = torch.linspace(-6, 6, 2401, dtype=torch.float64).unsqueeze(1)  # (X, 1)
dx = float(xg[1] - xg[0])
p = p_data.pdf(xg.float()).double()  # (X,)


def fit_gaussian(kl, mu0=0.7, log_sd0=0.0, steps=300):
    """One Gaussian q = N(mu, sd²) fitted to p_data on a grid by gradient descent on `kl(q)`."""
    mu, log_sd = torch.tensor(mu0, dtype=torch.float64, requires_grad=True), torch.tensor(log_sd0, dtype=torch.float64,
                                                                                         requires_grad=True)
    opt = torch.optim.Adam([mu, log_sd], lr=0.05)
    for _ in range(steps):
        q = torch.exp(-0.5 * ((xg.squeeze(1) - mu) / log_sd.exp()) ** 2) / (log_sd.exp() * math.sqrt(2 * math.pi))
        loss = kl(q.clamp_min(1e-300))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return mu.item(), log_sd.exp().item(), q.detach()


forward_kl = lambda q: (p * (p.clamp_min(1e-300) / q).log()).sum() * dx  # KL(p_data || q)
reverse_kl = lambda q: (q * (q / p.clamp_min(1e-300)).log()).sum() * dx  # KL(q || p_data)
mu_f, sd_f, q_f = fit_gaussian(forward_kl)
mu_r, sd_r, q_r = fit_gaussian(reverse_kl)
fig, ax = plt.subplots(figsize=(7, 3))
ax.fill_between(xg[:, 0], p, alpha=0.3, color="k", label="$p_{data}$")
ax.plot(xg[:, 0], q_f, label=f"forward KL fit: N({mu_f:.2f}, {sd_f:.2f}²)")
ax.plot(xg[:, 0], q_r, label=f"reverse KL fit: N({mu_r:.2f}, {sd_r:.2f}²)")
ax.legend(frameon=False, fontsize=8)
ax.set_title("Forward KL covers both modes; reverse KL picks one")
plt.show()
claim("forward_kl_covers", sd_f, ">", 1.5, "the forward-KL Gaussian spreads over both modes (its sd exceeds 1.5)")
claim("reverse_kl_seeks", abs(mu_r), ">", 1.8, "the reverse-KL Gaussian sits on one mode (|mean| above 1.8)")

# %% [markdown]
# ## 4 · One training step, and the equilibrium
#
# Training alternates the two players, each with its own optimiser:
#
# 1. **D step:** draw real $x$ and fakes $G(z)$; update $D$ to minimise $-V$. The fakes are `detach`ed: this
#    loss must move $D$ only.
# 2. **G step:** update $G$ through the *updated* $D$ with the non-saturating loss.
#
# Here is that step written out, after a diagram of what flows where; the cell after it checks it against
# `course_lib.train.gan_step`, which the rest of the course uses.

# %%
plotting.flow_diagram(
    {"z": (0.06, 0.5, "z ~ N(0, I)"), "G": (0.25, 0.5, "generator G\nz -> x̃"),
     "x": (0.25, 0.9, "real x"), "D": (0.55, 0.5, "discriminator D\nx -> logit"),
     "lossD": (0.85, 0.8, "loss_D = -V\n(D's optimiser)"), "lossG": (0.85, 0.2, "loss_G = -log D(x̃)\n(G's optimiser)")},
    [("z", "G", ""), ("x", "D", "x"), ("G", "D", "x̃.detach() for D's step;\nx̃ for G's step"),
     ("D", "lossD", "D(x), D(x̃.detach())"), ("D", "lossG", "D(x̃), D frozen")],
    title="One GAN step: D learns on detached fakes, then G learns through the updated D")
plt.show()

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
# **Exercise 4 (predict, then run).** Suppose D's step used `D(fake)` instead of `D(fake.detach())`, and G's step
# then reused the same `fake`, as above. Which happens? Return the letter; the check runs the experiment.

# %%
for letter, text in check.DETACH_OPTIONS.items():
    print(f"({letter}) {text}")


# %% tags=["exercise"]
def predict_without_detach():
    ### BEGIN SOLUTION
    return "c"
    ### END SOLUTION


# %% tags=["check"]
check.predict_without_detach(predict_without_detach)

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
claim("equilibrium_d_real", abs(float(tail[:, 0].mean()) - 0.5), "<", 0.05,
      "over the last 10 % of steps D's mean output on real data is within 0.05 of 1/2")
claim("equilibrium_d_fake", abs(float(tail[:, 1].mean()) - 0.5), "<", 0.05,
      "over the last 10 % of steps D's mean output on fakes is within 0.05 of 1/2")

# %% [markdown]
# $D$'s *average* output is close to ½, but look at the last panel before concluding $p_g = p_\text{data}$: the
# average hides where $p_g$ still differs (a narrow spike, a missing tail). An average of ½ is necessary for the
# equilibrium, not sufficient.

# %% [markdown]
# ## 5 · Mode collapse
#
# On a multi-modal target, $G$ often covers only some modes, or hops from mode to mode as $D$ chases it: **mode
# collapse**. Two standard testbeds make it measurable: 8 Gaussians on a ring of radius 2 with σ = 0.02
# (σ/r = 0.01, as in Metz et al. 2017, VEEGAN and PacGAN, the ring of §3) and a 5×5 grid of Gaussians 2 apart with
# σ = 0.05. As in VEEGAN and PacGAN, a generated sample is **high quality** if it lies within $3\sigma$ of its
# nearest mode. A mode is **recovered** when it holds at least a fifth of its fair share of the samples (the
# course's rule, `course_lib.metrics.mode_coverage`; PacGAN's code counts a mode as soon as it has one
# high-quality sample, so its counts are higher for the same samples).
#
# We train the same networks with both generator losses, three seeds each. The seeds train as one batch:
# `gan_zoo.train_toy_seeds` (chapter 03's package) builds MLPs whose layers carry a leading seed dimension and
# runs the very step above on them, each seed exactly as it would train alone.

# %%
Z_TOY = 2  # the noise has as many dimensions as the data (as in the toy code of WGAN-GP and PacGAN)
TOY_SEEDS = [0, 1, 2]
toy_steps = S.toy_steps // 2  # G steps per run
toy_batch = S.toy_batch // 4  # real samples per seed and step
RECIPES = {"saturating": gan_zoo.TOY_RECIPES["minimax"], "non-saturating": gan_zoo.TOY_RECIPES["non-saturating"]}


def toy_gan(mixture, recipe):
    frames = []

    def snapshot(step, G):
        if step in (toy_steps // 10, toy_steps // 3, (2 * toy_steps) // 3):
            frames.append((step, gan_zoo.sample_seeds(G, 2_000)[0]))  # seed 0, a fixed z

    G, _, logs = gan_zoo.train_toy_seeds(recipe, mixture, steps=toy_steps, batch_size=toy_batch, seeds=TOY_SEEDS,
                                         z_dim=Z_TOY, log_every=max(1, toy_steps // 30), on_log=snapshot)
    samples = gan_zoo.sample_seeds(G, S.toy_eval_samples)  # (seeds, N, 2)
    return samples, frames, [metrics.mode_coverage(x, mixture.centers, mixture.std) for x in samples]


results = {}
for name, mixture in {"ring": data.ring(), "grid": data.grid()}.items():
    for loss_name, recipe in RECIPES.items():
        results[name, loss_name] = (mixture, *toy_gan(mixture, recipe))

for (name, loss_name), (*_, covs) in results.items():
    print(f"{name:>5} {loss_name:>15}: modes {[c.modes for c in covs]}, "
          f"high-quality {[f'{100 * c.high_quality:.0f}%' for c in covs]}")
    key = f"{name}_{loss_name.replace('-', '_')}"
    measured(f"{key}_modes", [c.modes for c in covs])
    measured(f"{key}_hq", [100 * c.high_quality for c in covs], unit="%")

# %%
for (name, loss_name), (mixture, samples, frames, covs) in results.items():
    fig, axes = plt.subplots(1, len(frames) + 3, figsize=(2.3 * (len(frames) + 3), 2.5))
    for ax, (step, pts) in zip(axes, frames):
        plotting.scatter_2d(pts, mixture, ax=ax, title=f"seed 0, step {step}", s=1)
    for ax, seed, pts, cov in zip(axes[len(frames):], TOY_SEEDS, samples, covs):
        plotting.scatter_2d(pts[:2_000], mixture, ax=ax, title=f"seed {seed} final: {cov.modes}/{cov.total}", s=1)
    fig.suptitle(f"{name}, {loss_name} loss", fontsize=10)
    plt.show()

modes = {key: [c.modes for c in covs] for key, (*_, covs) in results.items()}
share = {name: sum(sum(modes[name, k]) for k in RECIPES) / (len(RECIPES) * len(TOY_SEEDS) * m.centers.shape[0])
         for name, m in (("ring", data.ring()), ("grid", data.grid()))}
measured("ring_non_saturating_worst", min(modes["ring", "non-saturating"]))
measured("ring_non_saturating_best", max(modes["ring", "non-saturating"]))
claim("ring_seeds_most_modes", sum(m >= 6 for m in modes["ring", "non-saturating"]), ">=", 2,
      "at least 2 of 3 non-saturating seeds recover 6 or more of the 8 ring modes")
claim("ring_easier_than_grid", share["ring"] - share["grid"], ">=", 0.2,
      "at this budget the runs recover a larger share of the ring's modes than of the grid's (by 0.2 or more)")
claim("grid_saturating_vs_non_saturating",
      [a - b for a, b in zip(modes["grid", "saturating"], modes["grid", "non-saturating"])], ">=", -2,
      "on the grid the saturating loss recovers no fewer than 2 modes less than the non-saturating one (mean of 3 seeds)")
measured("ring_mode_share", 100 * share["ring"], unit="%")
measured("grid_mode_share", 100 * share["grid"], unit="%")


def seeds_agree(a, b, what):
    """Three seeds allow a conclusion only when every seed's difference a - b has the same sign."""
    diffs = [x - y for x, y in zip(a, b)]
    agree = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
    print(f"{what}, per seed: {diffs}: " + ("all seeds agree" if agree else "the seeds disagree: no evidence either way"))


seeds_agree(modes["ring", "non-saturating"], modes["ring", "saturating"], "ring modes, non-saturating minus saturating")
seeds_agree(modes["grid", "non-saturating"], modes["grid", "saturating"], "grid modes, non-saturating minus saturating")

# %% [markdown]
# Read the snapshots from left to right to see where $G$'s mass goes as $D$ learns to reject it. Over three seeds
# (mean ± sd; every value is in the printout), on the ring the saturating loss recovers
# {rec:ring_saturating_modes:pm} modes with {rec:ring_saturating_hq:pm} % high-quality samples, the
# non-saturating loss {rec:ring_non_saturating_modes:pm} with {rec:ring_non_saturating_hq:pm} %; on the grid,
# {rec:grid_saturating_modes:pm} and {rec:grid_non_saturating_modes:pm} modes
# ({rec:grid_saturating_hq:pm} % and {rec:grid_non_saturating_hq:pm} % high quality). The high-quality share is
# the cruel part of the metric: with σ = 0.02 on the ring a sample must land within 0.06 of a centre.
#
# What to take from it, at this budget ({rec:ring_mode_share:.0f} % of the ring's modes recovered over all runs,
# {rec:grid_mode_share:.0f} % of the grid's):
#
# * **The seed matters.** The three non-saturating ring runs range from
#   {rec:ring_non_saturating_worst} to {rec:ring_non_saturating_best} modes, and the same code and seeds can give
#   other counts on another CPU (training amplifies differences in floating-point rounding). One run is one
#   sample; a comparison needs several.
# * **The grid is much harder than the ring**, and `small`'s two thousand G steps leave the grid runs far from
#   covering it: most samples still lie between modes. (The full scale trains six times longer; chapter 03
#   measures how much each recipe recovers in the same budget.)
# * **Missed modes are missed entirely.** In the final panels a missed mode has no samples near it rather than a
#   blur over it, as the reverse KL of §3 predicts; the off-mode samples form the bridges a continuous map from a
#   Gaussian has to draw between modes.
# * **Between the two losses, conclude only what every seed agrees on** (the two lines printed above). The
#   saturating loss's gradient vanishes only while D confidently rejects the fakes (§3), and on a 2-D target D
#   does not always stay that confident, so these toys may or may not separate the losses at this budget. The
#   non-saturating loss is the safe default where D *can* win early, as on images (§6, chapter 02).
#
# Chapter 03 compares the losses and the tricks meant to help (Wasserstein, hinge, spectral norm, R1) on the grid.
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
axes[0].axhline(2 * math.log(2), color="gray", ls="--", lw=0.8)  # loss_D when nobody wins: 2 log 2
axes[0].axhline(math.log(2), color="gray", ls=":", lw=0.8)  # loss_G (non-saturating) when D(G(z)) = 1/2
plotting.loss_curves(log, ("D_real", "D_fake"), ax=axes[1], title="D(x) and D(G(z))", smooth=5)
with torch.no_grad():
    G.eval()
    fake = G(torch.randn(64, Z, device=device))  # (64, 1, 28, 28)
    G.train()
plotting.image_grid(fake, nrow=8, ax=axes[2], title="G(z) after training")
plt.show()

# Which digits does G draw? The course classifier (chapter 02) labels 1,000 samples
net = features.course_classifier("mnist", device=device)
with torch.no_grad():
    labels = features.apply_batched(net, G.eval()(torch.randn(1_000, Z, device=device))).argmax(1).cpu()  # (1000,)
    G.train()
share = torch.bincount(labels, minlength=10).float() / len(labels)  # (10,)
print("share of each class among G's samples:", {d: f"{100 * v:.0f}%" for d, v in enumerate(share.tolist())})
rows = log.rows if hasattr(log, "rows") else log
late = rows[len(rows) // 2:]
measured("mnist_top2_share", 100 * float(share.topk(2).values.sum()), unit="%")
measured("mnist_loss_d_late", sum(r["loss_D"] for r in late) / len(late))
measured("mnist_loss_g_late", sum(r["loss_G"] for r in late) / len(late))

# %% [markdown]
# Look at the grid before trusting the curves. At `small` scale the MLP's digits are rough, and the course
# classifier finds the two most frequent classes in {rec:mnist_top2_share:.0f} % of the samples (20 % if G drew
# every class equally often): how unevenly G covers the ten digits, measured on real data. The dashed lines are
# the losses when nobody wins ($D(x)=D(G(z))=\tfrac12$: $\text{loss}_D = 2\log 2 \approx 1.39$ and
# $\text{loss}_G = \log 2 \approx 0.69$, so $D$'s loss is *twice* $G$'s at equilibrium). Over the second half of
# the run $D$'s loss averages {rec:mnist_loss_d_late:.2f} and $G$'s {rec:mnist_loss_g_late:.2f}: a discriminator
# below its equilibrium loss is winning, and G's non-saturating gradient keeps it learning anyway. Convolutions
# (chapter 02) and the training recipes of chapter 03 do better on both counts.
#
# ## 7 · The strengths and weaknesses of GANs, made concrete
#
# The source lists the advantages and drawbacks of GANs. Each is a claim we can point at:
#
# | claim | where you see it |
# |---|---|
# | $G$ learns from $D$'s gradient, not from data directly | the G step above: `g_loss(D(fake))` is the only thing $G$ ever sees |
# | any differentiable $G$ and $D$ will do | MLPs here; convolutions (ch. 02), attention (ch. 06), transformers (ch. 08) |
# | no invertibility or latent-size constraint, unlike flows (NICE, Real NVP) | $G$ may map 64 noise dimensions to 784 pixels (§6); the toy's 2-D noise is a choice, not a requirement |
# | sampling is one forward pass, no Markov chain; faster than fully visible belief nets, which draw one pixel at a time | `G(z)` above: 64 digits in one call |
# | no pixel-wise likelihood term, which *seems* to give sharper samples than a VAE's (the seed says "看起来导致了"); Goodfellow's 2016 tutorial (§3.2.5) argues the divergence is probably not the reason | GAN and VAE samples side by side in chapter 05 |
# | D's features can serve a semi-supervised classifier (Salimans et al. 2016) | not shown in this course |
# | training seeks a Nash equilibrium that gradient descent may not reach | §5: dropped modes; chapter 03: the Dirac-GAN circling its equilibrium |
# | no explicit density $p_g$: evaluation needs sample-based metrics | mode counts here; FD / KID from chapter 02 on |
# | no inference: one cannot infer $z$ from $x$, or one pixel from the others (BiGAN / ALI add an encoder) | chapter 12 searches for $z$ by optimisation (AnoGAN) and trains an encoder (f-AnoGAN) |
# | hard to generate discrete data | piano rolls need binarisation in chapter 11; chapter 13 |
#
# ## Summary
#
# * $D$ maximises $V$; $G$ minimises it. In code both are cross-entropies on logits, written with `softplus`.
# * For a fixed $G$ the best $D$ is $p_\text{data}/(p_\text{data}+p_g)$, and a trained $D$ gets close to it.
# * The saturating loss starves $G$ of gradient exactly when $D$ is winning; the non-saturating loss does not,
#   but it follows a reverse-KL-like, mode-seeking objective. On the 2-D toys, where D cannot win for long, three
#   seeds show no difference between them; the non-saturating loss is the default where D can win.
# * At equilibrium $D(x)=\tfrac12$ (necessary, not sufficient); in practice GANs drop modes, which we can count.
#
# Next: **chapter 02 — DCGAN**, where convolutions make image GANs work and FD / KID measure them.
