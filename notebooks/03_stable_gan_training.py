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
# # 03 · Training GANs that converge
#
# Chapter 01 counted the modes a GAN finds and loses on the 8-ring and the 5×5 grid; chapter 02 trained a DCGAN that
# works on MNIST but only inside a narrow band of settings. This chapter collects what made GAN training
# reliable between 2017 and 2019: other losses, constraints on the discriminator, and separate learning rates.
# It compares them on the same data at the same number of generator steps, over three seeds, and says where the
# small budget shows what the papers show and where it does not.
#
# **You will**
# 1. write the least-squares, hinge and Wasserstein losses as pure functions on D's raw scores;
# 2. see why $W_1$ and not the JSD, and why plain simultaneous gradient play need not converge (the Dirac-GAN);
# 3. enforce a Lipschitz critic with the gradient penalty (WGAN-GP, `n_critic` critic steps per G step) and with
#    spectral normalisation, and measure what spectral normalisation really bounds; regularise D with R1;
#    give D a faster learning rate (TTUR);
# 4. compare the recipes on the 5×5 grid (modes recovered, % high-quality samples, 3 seeds) and on MNIST
#    (FD (course classifier)), and read each run's health from its log.
#
# **Prerequisites:** chapters 01 (the game, saturating vs non-saturating loss, mode coverage) and 02 (DCGAN,
# FD/KID and the course classifier).

# %%
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from course_lib import data, features, gan_zoo, losses, metrics, plotting, train
from course_lib.checks import ch03 as check
from course_lib.claims import claim, measured
from course_lib.models import dcgan
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
train.set_threads()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

# %% [markdown]
# ## 1 · A zoo of losses
#
# D outputs a raw score $s = D(x)$ (a logit for the first two losses). Each function returns what its player
# *minimises*.
#
# | loss | D minimises | G minimises |
# |---|---|---|
# | minimax (Goodfellow 2014) | $\mathbb{E}[\operatorname{softplus}(-s_r)] + \mathbb{E}[\operatorname{softplus}(s_f)]$ | $\mathbb{E}[\log(1-\sigma(s_f))]$ |
# | non-saturating | same | $\mathbb{E}[\operatorname{softplus}(-s_f)] = -\mathbb{E}[\log\sigma(s_f)]$ |
# | least squares (Mao 2017) | $\tfrac12\mathbb{E}[(s_r-1)^2] + \tfrac12\mathbb{E}[s_f^2]$ | $\tfrac12\mathbb{E}[(s_f-1)^2]$ |
# | hinge (Lim & Ye 2017) | $\mathbb{E}[\max(0, 1-s_r)] + \mathbb{E}[\max(0, 1+s_f)]$ | $-\mathbb{E}[s_f]$ |
# | Wasserstein (Arjovsky 2017) | $\mathbb{E}[s_f] - \mathbb{E}[s_r]$ | $-\mathbb{E}[s_f]$ |
#
# Mao et al.'s case for least squares: a fake that already *fools* D (it sits on the real side of D's decision
# boundary) but lies far from the data gets almost no gradient from the sigmoid cross-entropy, because its
# logit is already large; the squared loss still pulls it towards the real target, in proportion to its
# distance. (A fake that D classifies correctly *as fake* is the other problem, the saturating loss of
# chapter 01.) The hinge stops pushing D once a score is past its margin, which keeps D's scores bounded.

# %% tags=["exercise"]
def hinge_d_loss(real_scores, fake_scores):
    """D's hinge loss: E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    ### BEGIN SOLUTION
    return torch.relu(1 - real_scores).mean() + torch.relu(1 + fake_scores).mean()
    ### END SOLUTION


# %% tags=["check"]
check.hinge_d_loss(hinge_d_loss)

# %% [markdown]
# > **Common misconception.** "In the minimax game G minimises $V$, i.e. *maximises* $\log(1-D(G(z)))$." G
# > minimises $\log(1-D(G(z)))$: that is the *saturating* loss, whose gradient vanishes when D confidently rejects
# > the fakes (chapter 01 measured it), which is why practice uses the non-saturating $-\log D(G(z))$. The
# > least-squares and Wasserstein losses mentioned next to it in the source are further ways to keep G's gradient
# > alive, not variants of the same formula.
#
# ## 2 · Why $W_1$ and not the JSD
#
# With the optimal D, the minimax game makes G minimise a Jensen–Shannon divergence (chapter 01). When the two
# distributions barely overlap, as a generator's early samples and the data do, the JSD is stuck at its maximum
# $\log 2$ whatever the distance between them, so it carries no gradient; the Wasserstein-1 distance grows with
# the distance (Arjovsky et al. 2017, Example 1). Two narrow 1-D Gaussians, $p_\text{data}=\mathcal N(0,
# 0.05^2)$ and $p_\theta=\mathcal N(\theta, 0.05^2)$, show it: for equal widths $W_1 = |\theta|$ exactly, and the
# cell also estimates it from samples (in 1-D, $W_1$ is the mean gap between sorted samples).

# %%
def jsd_on_grid(p, q):
    """JSD of two densities tabulated on one grid (normalised there), in nats."""
    p, q = p / p.sum(), q / q.sum()
    p, q = p * (p > 1e-200), q * (q > 1e-200)  # drop denormals, whose halves would round to 0
    m = (p + q) / 2
    kl = lambda a, b: torch.where(a > 0, a * (a / b).log(), torch.zeros_like(a)).sum()
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


sd, xs = 0.05, torch.linspace(-1, 5, 24_001, dtype=torch.float64)  # (X,)
thetas = torch.linspace(0, 4, 81, dtype=torch.float64)
gauss = lambda mu: torch.exp(-0.5 * ((xs - mu) / sd) ** 2)
jsd = torch.stack([jsd_on_grid(gauss(0.0), gauss(t)) for t in thetas])  # (T,)
g = torch.Generator().manual_seed(0)
x0 = (sd * torch.randn(20_000, generator=g, dtype=torch.float64)).sort().values
w1 = torch.stack([(x0 - (t + sd * torch.randn(20_000, generator=g, dtype=torch.float64)).sort().values).abs().mean()
                  for t in thetas])  # (T,) sample estimate of W1

fig, ax = plt.subplots(figsize=(6.5, 3))
ax.plot(thetas, jsd, label="JSD (nats)")
ax.axhline(torch.log(torch.tensor(2.0)), color="gray", lw=0.6, ls="--", label="log 2")
ax.plot(thetas, w1, label="$W_1$ (from samples)")
ax.set_xlabel(r"$\theta$ (distance between the two distributions)")
ax.legend(frameon=False, fontsize=8)
ax.set_title("Disjoint supports: JSD is flat, $W_1$ keeps a slope")
plt.show()
i1, i3 = int((thetas - 1).abs().argmin()), int((thetas - 3).abs().argmin())
claim("jsd_flat_when_disjoint", float((jsd[i3] - jsd[i1]).abs()), "<", 1e-3,
      "JSD changes by less than 0.001 nats between θ = 1 and θ = 3 (it sits at log 2)")
claim("w1_grows_when_disjoint", float(w1[i3] - w1[i1]), ">", 1.9,
      "W1 grows by about 2 between θ = 1 and θ = 3 (exactly 2 for equal widths)")

# %% [markdown]
# ## 3 · The Wasserstein critic needs a Lipschitz constraint
#
# The Kantorovich–Rubinstein duality gives $W_1(p_\text{data}, p_g) = \max_{\lVert D\rVert_L\le1}
# \mathbb{E}_{x}[D(x)] - \mathbb{E}_{z}[D(G(z))]$. Without the constraint $\lVert D\rVert_L\le1$ the maximum is
# infinite. WGAN-GP (Gulrajani et al. 2017, eq. 3) softly enforces unit gradient norm on points $\hat x$
# between real and fake samples:
#
# $$L_D = \mathbb{E}[D(\tilde x)] - \mathbb{E}[D(x)] + \lambda\,\mathbb{E}_{\hat x}\big[(\lVert\nabla_{\hat x}D(\hat x)\rVert_2-1)^2\big],
# \qquad \hat x=\epsilon x+(1-\epsilon)\tilde x,\ \epsilon\sim U[0,1],$$
#
# with $\lambda = 10$ in the paper's image experiments; its official toy code uses $\lambda = 0.1$ on the 2-D
# mixtures ("smaller lambda seems to help for toy tasks specifically"), and so does our toy recipe below.
# The penalty is a function of a gradient, so computing *its* gradient with respect to D's weights needs the
# graph of the first one: `create_graph=True`. The critic is trained `n_critic = 5` times per generator step, so
# that it stays close to the maximiser whose value G is descending.

# %% tags=["exercise"]
def gradient_penalty(D, real, fake, eps):
    """E[(||∇D(x̂)||₂ - 1)²] with x̂ = eps·real + (1 - eps)·fake, differentiable w.r.t. D's weights."""
    ### BEGIN SOLUTION
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).square().mean()
    ### END SOLUTION


# %% tags=["check"]
check.gradient_penalty(gradient_penalty)

# %% [markdown]
# **Spectral normalisation** (Miyato et al. 2018) divides each weight matrix by its largest singular value
# $\sigma(W)$, estimated by one step of power iteration per forward pass (PyTorch's order:
# $v \leftarrow W^\top u/\lVert W^\top u\rVert$, $u \leftarrow Wv/\lVert Wv\rVert$, $\sigma \approx u^\top W v$).
# For a dense layer that makes the layer exactly 1-Lipschitz, and a network of such layers and 1-Lipschitz
# activations has Lipschitz constant *at most* 1 (the product of the layers' bounds, often far below it).
# Written out, and checked against the exact value and against PyTorch's parametrisation:

# %%
def spectral_norm_estimate(W, iters=50):
    u = torch.randn(W.shape[0], generator=torch.Generator().manual_seed(0))  # (out,)
    for _ in range(iters):
        v = W.T @ u
        v = v / v.norm()  # (in,)
        u = W @ v
        u = u / u.norm()  # (out,)
    return u @ W @ v


W = torch.randn(64, 32, generator=torch.Generator().manual_seed(1))
exact = torch.linalg.matrix_norm(W, ord=2)
torch.testing.assert_close(spectral_norm_estimate(W), exact, rtol=1e-4, atol=1e-4)
layer = nn.utils.parametrizations.spectral_norm(nn.Linear(32, 64))
with torch.no_grad():
    layer.parametrizations.weight.original.copy_(W)
    for _ in range(50):
        layer(torch.zeros(1, 32))  # each training-mode forward pass runs one power iteration
print(f"σ(W) exact {exact:.4f}, power iteration {spectral_norm_estimate(W):.4f}; "
      f"after spectral_norm: σ = {torch.linalg.matrix_norm(layer.weight, ord=2):.4f}")

# %% [markdown]
# A **convolution** is not normalised that way. PyTorch (like the paper's code) divides the kernel by the
# spectral norm of the kernel *reshaped* to a (C_out, C_in·k·k) matrix, which is not the operator norm of the
# convolution itself. Power iteration on the convolution operator (its adjoint is the transposed convolution)
# measures the real Lipschitz constant of a spectrally normalised 3×3, 16→16 convolution on 32×32 inputs:

# %%
def conv_operator_norm(weight, shape=(1, 16, 32, 32), iters=100):
    """Largest singular value of x -> conv2d(x, weight, padding=1) on inputs of `shape`, by power iteration."""
    v = torch.randn(shape, generator=torch.Generator().manual_seed(0))  # (1, C, H, W)
    for _ in range(iters):
        v = v / v.norm()
        v = F.conv_transpose2d(F.conv2d(v, weight, padding=1), weight, padding=1)  # AᵀA v, same shape
    v = v / v.norm()
    return F.conv2d(v, weight, padding=1).norm()


reshaped, operator = [], []
for seed in range(3):
    torch.manual_seed(seed)
    conv = nn.utils.parametrizations.spectral_norm(nn.Conv2d(16, 16, 3, padding=1))
    with torch.no_grad():
        for _ in range(30):
            conv(torch.zeros(1, 16, 32, 32))  # let the power iteration settle
    w_sn = conv.weight.detach()  # (16, 16, 3, 3)
    reshaped.append(float(torch.linalg.matrix_norm(w_sn.flatten(1), ord=2)))
    operator.append(float(conv_operator_norm(w_sn)))
print(f"σ of the reshaped kernel: {[round(v, 3) for v in reshaped]};  "
      f"Lipschitz constant of the convolution: {[round(v, 3) for v in operator]}")
claim("sn_conv_lipschitz", operator, ">", 1.2,
      "a spectrally normalised 3x3 16->16 convolution has Lipschitz constant above 1.2 (3 initialisations)")
measured("sn_conv_reshaped_sigma", reshaped)

# %% [markdown]
# So spectral normalisation bounds a convolution's Lipschitz constant only up to a factor that depends on the
# kernel size (here about {rec:sn_conv_lipschitz:.2f}, while the reshaped matrix has σ = 1): it controls the
# critic's slope, it does not enforce $\lVert D\rVert_L\le1$ exactly.
#
# **R1** (Mescheder et al. 2018) penalises D's gradient on *real* data only, $\frac{\gamma}{2}\mathbb{E}_x
# \lVert\nabla_x D(x)\rVert^2$: near equilibrium D should be flat on the data, and this keeps D from overshooting
# there. **TTUR** (Heusel et al. 2017) gives D a larger learning rate than G (e.g. $4\cdot10^{-4}$ vs
# $10^{-4}$). Its convergence theorem is a two-time-scale stochastic-approximation result for *decaying* step
# sizes (G's asymptotically smaller than D's); a constant 4 : 1 ratio with Adam, as used in practice and here,
# is a heuristic motivated by it, outside the theorem.
#
# ## 4 · Simultaneous gradient play need not converge: the Dirac-GAN
#
# Mescheder et al. (2018) reduce a GAN to two numbers: the data is a point mass at 0, the generator a point mass
# at $\theta$, the discriminator linear, $D(x)=\psi x$. The equilibrium is $(\theta,\psi)=(0,0)$. Train it with the
# course's `d_step` / `g_step` and plain gradient descent, both players moving at once (G steps on the same fake
# batch D is about to use, so both gradients are taken at the same point): without a regulariser the pair
# circles the equilibrium instead of reaching it; with R1 ($\gamma=1$), which penalises $\psi^2$ here, it
# spirals in. The WGAN-GP penalty asks for $|\psi|=1$, not 0, and the paper shows it is not locally convergent
# on this game either.

# %%
class DiracGenerator(nn.Module):
    """G(z) = θ for every z: a point mass at θ."""

    def __init__(self, theta: float):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([theta]))

    def forward(self, z):
        return self.theta.expand(len(z), 1)  # (B, 1)


def dirac_gan(d_loss, g_loss, penalty=None, steps=400, lr=0.2):
    G, D = DiracGenerator(1.0), nn.Linear(1, 1, bias=False)  # D(x) = ψ·x
    with torch.no_grad():
        D.weight.fill_(1.0)
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr), torch.optim.SGD(D.parameters(), lr)
    real, path = torch.zeros(1, 1), []  # the data: a point mass at 0
    loss_D = (lambda r, f: d_loss(r, f) + penalty(D, real, fake)) if penalty else d_loss
    for _ in range(steps):
        fake = G(real)  # (1, 1)
        train.g_step(D, fake, opt_G, g_loss)  # G's gradient at the current (θ, ψ) ...
        train.d_step(D, real, fake, opt_D, loss_D)  # ... and D's, at the same point: simultaneous play
        path.append((G.theta.item(), D.weight.item()))
    return torch.tensor(path)  # (steps, 2)


dirac = {"unregularised": dirac_gan(losses.d_loss, losses.g_loss_nonsaturating),
         "R1 (γ = 1)": dirac_gan(losses.d_loss, losses.g_loss_nonsaturating,
                                 lambda D, r, f: 0.5 * losses.r1_penalty(D, r)),
         "WGAN-GP (λ = 1)": dirac_gan(losses.d_loss_wgan, losses.g_loss_wgan,
                                      lambda D, r, f: losses.gradient_penalty(D, r, f))}
fig, axes = plt.subplots(1, 3, figsize=(11, 3.3), sharex=True, sharey=True)
for ax, (name, path) in zip(axes, dirac.items()):
    ax.plot(path[:, 0], path[:, 1], lw=0.8)
    ax.plot(*path[0], "go", ms=4)
    ax.plot(0, 0, "k*", ms=8)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel(r"$\theta$ (generator)")
axes[0].set_ylabel(r"$\psi$ (discriminator)")
plt.tight_layout()
plt.show()
dist = {name: float(path[-100:].norm(dim=1).mean()) for name, path in dirac.items()}
print({k: f"{v:.2e}" for k, v in dist.items()}, "(mean distance to (0, 0) over the last 100 steps)")
claim("dirac_unregularised_no_convergence", dist["unregularised"], ">", 0.1,
      "unregularised simultaneous gradient play stays away from the equilibrium (distance over the last 100 steps)")
claim("dirac_r1_converges", dist["R1 (γ = 1)"], "<", 1e-3,
      "with R1 the Dirac-GAN converges to the equilibrium (distance over the last 100 steps)")
measured("dirac_wgan_gp_distance", dist["WGAN-GP (λ = 1)"])

# %% [markdown]
# Unregularised, the pair is still {rec:dirac_unregularised_no_convergence:.2f} from the equilibrium on average
# over the last 100 of 400 steps; with R1 it is within {rec:dirac_r1_converges:.0e}. WGAN-GP's critic flattens to
# $\psi\approx 0$ where the penalty is satisfied from one side, and the generator stops at $\theta\approx$
# {rec:dirac_wgan_gp_distance:.1f}, not at the data: the penalty is centred at a slope of 1, not 0.
#
# ## 5 · One step for the whole zoo
#
# The step stays chapter 01's: `n_critic` updates of D on fresh real batches (a penalty, if any, added to its
# loss), then one update of G through the updated D. The package's `gan_zoo.zoo_step` is exactly this; the cell
# checks that our version and the package's move the weights identically.

# %%
def step(G, D, opt_G, opt_D, batches, z_dim, d_loss, g_loss, n_critic=1, penalty=None):
    for _ in range(n_critic):
        real = next(batches)  # (B, ...)
        fake = G(torch.randn(real.shape[0], z_dim))  # (B, ...)
        # D: fake.detach(), so this update cannot reach G
        loss_D = d_loss(D(real), D(fake.detach())) + (penalty(D, real, fake) if penalty else 0.0)
        opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        opt_D.step()
    loss_G = g_loss(D(fake))  # G through the updated D
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    return loss_D.detach(), loss_G.detach()


recipe = gan_zoo.TOY_RECIPES["WGAN-GP"]
grid = data.grid(std=0.05)
results = []
for fn in (step, gan_zoo.zoo_step):
    train.seed_everything(0)
    G, D = gan_zoo.build_toy(recipe)
    opt_G, opt_D = recipe.optimizers(G, D)
    g = torch.Generator().manual_seed(0)
    fn(G, D, opt_G, opt_D, iter(lambda: grid.sample(64, generator=g), None), 16, d_loss=recipe.d_loss,
       g_loss=recipe.g_loss, n_critic=recipe.n_critic, penalty=recipe.penalty())
    results.append(torch.cat([p.detach().flatten() for p in [*G.parameters(), *D.parameters()]]))
torch.testing.assert_close(results[0], results[1])
print("our step and gan_zoo.zoo_step give identical weights after one WGAN-GP step (5 critic updates)")

# %% [markdown]
# ## 6 · The 5×5 grid, recipe by recipe, three seeds at once
#
# Same MLPs as chapter 01 (3 hidden layers of 128), same data, and the same number of **G steps** for every
# recipe, so WGAN-GP's critic makes 5 times as many updates (its cost per step is printed). Each recipe trains
# three seeds *as one batch*: `gan_zoo.train_toy_seeds` builds MLPs whose layers carry a leading seed dimension
# (batched matrix products, `models.mlp.SeedLinear`), sums the loss over seeds and keeps `d_step` / `g_step`
# unchanged, so each seed trains exactly as it would alone (a test checks it) for less than three runs' cost.
# Modes are counted as in chapter 01 (a mode counts when it holds at least a fifth of its fair share of the
# samples within 3σ of a centre: the course's rule; PacGAN's code counts a mode with any such sample).
#
# The settings: chapter 01's Adam (1e-3, β = (0.5, 0.999)) for the first five recipes; WGAN-GP as its official
# toy code (λ = 0.1, 5 critic steps, β = (0.5, 0.9)) but with a learning rate of 1e-3 instead of 1e-4, because
# that code trains for 100,000 G steps and we afford a few thousand. The minimax and non-saturating runs are
# chapter 01's grid runs (same seeds, same settings), so their counts match that chapter's.

# %%
TOY_SEEDS = [0, 1, 2]
toy_steps = S.toy_steps // 2  # G steps per recipe and seed
toy_batch = S.toy_batch // 4  # real samples per seed and D step
Z_TOY = 2  # as in chapter 01
for name, r in gan_zoo.TOY_RECIPES.items():
    if name == "NS + R1 + TTUR":
        continue
    print(f"{name:<15} loss={r.loss:<15} n_critic={r.n_critic} λ_GP={r.gp:<4} γ_R1={r.r1:<4} SN={r.spectral_norm!s:<5} "
          f"lr G/D = {r.lr_G:g}/{r.lr_D:g}")

GRID_RECIPES = {n: r for n, r in gan_zoo.TOY_RECIPES.items() if n != "NS + R1 + TTUR"}  # R1: §4 and chapter 06
toy, per_step = {}, {}
for name, r in tqdm(GRID_RECIPES.items(), desc="recipes"):
    t0 = time.perf_counter()
    G, D, logs = gan_zoo.train_toy_seeds(r, grid, steps=toy_steps, batch_size=toy_batch, seeds=TOY_SEEDS,
                                         z_dim=Z_TOY, log_every=max(1, toy_steps // 50))
    per_step[name] = (time.perf_counter() - t0) / toy_steps
    samples = gan_zoo.sample_seeds(G, S.toy_eval_samples)  # (seeds, N, 2)
    toy[name] = (samples, logs, [metrics.mode_coverage(x, grid.centers, grid.std) for x in samples], D)

print(f"\n5x5 grid, {toy_steps} G steps per recipe, seeds {TOY_SEEDS}, {S.toy_eval_samples} samples per seed:")
for name, (_, _, covs, _) in toy.items():
    print(f"  {name:<15} modes {[c.modes for c in covs]}  high-quality {[f'{100 * c.high_quality:.0f}%' for c in covs]}"
          f"  {1e3 * per_step[name]:.0f} ms per G step (3 seeds)")

# %%
fig, axes = plt.subplots(len(TOY_SEEDS), len(toy), figsize=(2.3 * len(toy), 2.4 * len(TOY_SEEDS)), squeeze=False)
for j, (name, (samples, _, covs, _)) in enumerate(toy.items()):
    for i, seed in enumerate(TOY_SEEDS):
        plotting.scatter_2d(samples[i, :2000], grid, ax=axes[i, j], lim=6, s=1,
                            title=f"{name}, seed {seed}\n{covs[i].modes}/25 modes" if i == 0 else
                            f"seed {seed}: {covs[i].modes}/25")
plt.tight_layout()
plt.show()

# %%
key = {name: name.lower().replace(" + ", "_").replace("-", "_").replace(" ", "_") for name in toy}
for name, (_, _, covs, _) in toy.items():
    measured(f"grid_modes_{key[name]}", [c.modes for c in covs])
    measured(f"grid_hq_{key[name]}", [100 * c.high_quality for c in covs], unit="%")
    measured(f"grid_ms_per_step_{key[name]}", 1e3 * per_step[name], unit="ms")
modes = {name: [c.modes for c in covs] for name, (_, _, covs, _) in toy.items()}

# How steep is each critic where it is evaluated? ‖∇ₓD‖ on real and generated points, per seed
steep = {}
for name in ("hinge", "hinge + SN", "WGAN-GP"):
    samples, _, _, D = toy[name]
    real = torch.cat([grid.sample(1000, generator=torch.Generator().manual_seed(s)) for s in TOY_SEEDS])  # (S·N, 2)
    pts = torch.cat([real.view(len(TOY_SEEDS), -1, 2), samples[:, :1000]], dim=1).reshape(-1, 2)  # (S·2N, 2)
    steep[name] = gan_zoo.input_gradient_norms(D, pts, len(TOY_SEEDS)).median(dim=1).values  # (S,)
    print(f"{name:<12} median ‖∇ₓD‖ on real and generated points, per seed: {[round(float(v), 3) for v in steep[name]]}")
measured("grid_slope_hinge", steep["hinge"].tolist())
measured("grid_slope_wgan_gp", steep["WGAN-GP"].tolist())
claim("grid_sn_slope_small", steep["hinge + SN"].tolist(), "<", 0.5,
      "the spectrally normalised MLP critic is flat: median input-gradient norm below 0.5 (3 seeds)")
measured("grid_sn_slope_ratio", (steep["hinge + SN"] / steep["hinge"]).tolist())  # SN's slope / plain hinge's

# %% [markdown]
# **What the grid shows at this budget** (modes recovered of 25, mean ± sd over three seeds): minimax
# {rec:grid_modes_minimax:pm}, non-saturating {rec:grid_modes_non_saturating:pm}, least squares
# {rec:grid_modes_lsgan:pm}, hinge {rec:grid_modes_hinge:pm}, hinge + SN {rec:grid_modes_hinge_sn:pm}, WGAN-GP
# {rec:grid_modes_wgan_gp:pm} (with {rec:grid_hq_wgan_gp:pm} % high-quality samples), WGAN-GP at about five
# times the cost per G step ({rec:grid_ms_per_step_wgan_gp:.0f} ms against
# {rec:grid_ms_per_step_non_saturating:.0f} ms for the non-saturating loss, three seeds at once, on the
# machine of the record). Say it plainly: at `small`, two thousand G steps leave *every* recipe far from
# covering the grid, so this run does not show the published result that WGAN-GP recovers the 25 modes, and it
# ranks nothing. The protocol, not the method, is the reason: the official WGAN-GP toy run makes 100,000 G steps
# at a learning rate of 1e-4, fifty times our budget. `COURSE_SCALE=full` trains six times longer.
#
# **Hinge + spectral norm: an over-constrained critic.** Hinge with spectral normalisation recovers
# {rec:grid_modes_hinge_sn:pm} modes, the *same* hinge loss without it {rec:grid_modes_hinge:pm}; at this budget
# the counts alone do not separate them, but the critics do. Check the scale. The grid's modes are 2 apart and the fakes sit
# between them, so a 1-Lipschitz critic can at best separate a real point from a fake by about the distance
# between them, and the hinge asks for scores of +1 and −1, a gap of 2. A spectrally normalised MLP is
# Lipschitz-bounded by the *product* of its layers' norms (each ≤ 1), and in practice it is much flatter than
# that bound: the measured median slope of the trained SN critic is {rec:grid_sn_slope_small:.2f}. But the same
# hinge critic *without* spectral norm is flat too at this budget, {rec:grid_slope_hinge:.2f} (the ratio of the
# two, {rec:grid_sn_slope_ratio:pm} over the three seeds, varies too much to build on), while the WGAN-GP
# critic's slope is {rec:grid_slope_wgan_gp:.1f}: with the toy's λ = 0.1 the penalty is weak and does not hold the
# slope near 1. So the evidence here does not show that spectral norm is what flattens the critic: both hinge
# critics hand G a weak, nearly uniform gradient after two thousand steps, and G barely learns where the modes
# are. Spectral normalisation was designed for image discriminators, where each layer is wide and the data's
# scale is fixed; its case is made on images, in §8 and in chapter 06.
# %% [markdown]
# ## 7 · Reading a run's health
#
# The log of every run holds, per seed, D's mean raw score on real and fake batches, both losses and both
# gradient norms. The plots below show seed 0 of four recipes. What to look for, stated so that it is true of
# these runs:
#
# * **D cannot separate (over-constrained critic):** D's real and fake scores stay close to each other and to
#   0 while the samples are still wrong, D's hinge loss sits near its value for a blind critic (2), and G's
#   gradient norm is small: hinge + SN.
# * **D is confident but G still learns:** scores far apart and D's loss low, yet G's gradient norm steady and
#   large. With the non-saturating loss this is normal operation, not failure (it is the saturating loss whose
#   gradient collapses when D wins, chapter 01); judge it by the samples and by coverage.
# * **A Wasserstein critic still training:** $\mathbb{E}[D(x)]-\mathbb{E}[D(G(z))]$, an estimate of $W_1$ up to
#   the critic's slope, decreasing over the run. Scores themselves drift freely (only differences matter), so a
#   drifting level is no alarm; the trend of the difference, together with the coverage, is the signal.
# * **Collapse** shows as modes lost in the sample plots above, not reliably in the curves: always look at samples.
#
# Gradient norms become *large and noisy* (not systematically exploding) when D wins with the non-saturating
# loss: the per-logit gradient is bounded by 1, and what grows is D's input gradient.

# %%
show = [n for n in ("minimax", "hinge", "hinge + SN", "WGAN-GP") if n in toy]
fig, axes = plt.subplots(len(show), 3, figsize=(13, 2.6 * len(show)))
for row, name in zip(axes, show):
    gan_zoo.plot_health(toy[name][1][0], title=f"{name} (seed 0)", axes=row)
plt.tight_layout()
plt.show()
sn_rows = [r for log in toy["hinge + SN"][1] for r in log[len(log) // 2:]]  # the second half, every seed
gap_sn = sum(r["D_real"] - r["D_fake"] for r in sn_rows) / len(sn_rows)
loss_sn = sum(r["loss_D"] for r in sn_rows) / len(sn_rows)
print(f"hinge + SN, second half of training, all seeds: mean score gap D(x) - D(G(z)) = {gap_sn:.3f}, "
      f"mean D loss = {loss_sn:.3f} (a blind critic: 0 and 2)")
claim("grid_sn_score_gap", gap_sn, "<", 0.5,
      "the SN critic's real and fake scores stay within 0.5 of each other in the second half of training")
measured("grid_sn_loss_d", loss_sn)

# %% [markdown]
# The SN critic's mean score gap is {rec:grid_sn_score_gap:.2f} and its loss {rec:grid_sn_loss_d:.2f}, close to a
# blind critic's 0 and 2: the first signature above, measured.
#
# ## 8 · The same recipes on MNIST
#
# The DCGAN of chapter 02 (both players initialised as `dcgan.build` does), with three recipes at the
# **same number of G steps**: the non-saturating loss with BatchNorm in D; hinge + spectral norm with SNGAN's
# standard-CNN setting (Miyato et al. 2018, setting C: Adam 2e-4, β = (0.5, 0.999), one D step per G step); and
# WGAN-GP with the paper's λ = 10, 5 critic steps and Adam (1e-4, β = (0, 0.9)) (Gulrajani et al. 2017, Alg. 1).
# The WGAN-GP critic has no BatchNorm: the penalty is a per-sample gradient norm, and BatchNorm makes each
# sample's score depend on the rest of the batch. One seed each: the differences are read as this run's, not
# as a ranking.

# %%
Z, w = 100, S.width // 8
image_steps = S.image_steps // 3  # G steps per recipe
x_train, _ = data.load_images("mnist", train=True, n=S.n_train)  # (N, 1, 28, 28)
IMAGE_RECIPES = {
    "non-saturating": gan_zoo.Recipe("non-saturating", lr_G=2e-4, lr_D=2e-4),
    "hinge + SN": gan_zoo.Recipe("hinge + SN", loss="hinge", spectral_norm=True, lr_G=2e-4, lr_D=2e-4,
                                 betas=(0.5, 0.999)),
    "WGAN-GP": gan_zoo.Recipe("WGAN-GP", loss="wgan", n_critic=5, gp=10.0, lr_G=1e-4, lr_D=1e-4),
}


def train_image_recipe(r, seed=0):
    train.seed_everything(seed)
    G = dcgan.Generator(z_dim=Z, channels=1, image_size=28, width=w)
    D = dcgan.Discriminator(channels=1, image_size=28, width=w, batchnorm=not (r.gp or r.spectral_norm),
                            spectral_norm=r.spectral_norm)
    G.apply(dcgan.init_weights)  # as dcgan.build: N(0, 0.02²) weights, except under spectral norm
    if not r.spectral_norm:
        D.apply(dcgan.init_weights)
    G, D = G.to(device), D.to(device)
    opt_G, opt_D = r.optimizers(G, D)
    batches = data.Batches(x_train.to(device), batch_size=S.batch_size, seed=seed)
    log, t0 = [], time.perf_counter()
    for i in tqdm(range(1, image_steps + 1), desc=r.name, mininterval=1.0, leave=False):
        stats = gan_zoo.zoo_step(G, D, opt_G, opt_D, batches, Z, d_loss=r.d_loss, g_loss=r.g_loss,
                                 n_critic=r.n_critic, penalty=r.penalty())
        if i % max(1, image_steps // 50) == 0:
            log.append({"step": i, **{k: float(v) for k, v in stats.items()}})
    return G.eval(), D, log, (time.perf_counter() - t0) / image_steps


images = {name: train_image_recipe(r) for name, r in IMAGE_RECIPES.items()}

# %%
net = features.course_classifier("mnist", device=device)
ref = features.extract_features(net, data.load_images("mnist", train=True, n=S.n_eval, seed=1)[0])  # (n_eval, F)
z_eval = torch.randn(S.n_eval, Z, generator=torch.Generator().manual_seed(2))
fig, axes = plt.subplots(1, len(images), figsize=(3.6 * len(images), 3.8))
print(f"MNIST, {image_steps} G steps each, {S.n_eval} samples, course classifier "
      f"(test accuracy {100 * net.test_accuracy:.1f}%):")
floor = features.score(net, ref, features.extract_features(net, data.load_images("mnist", train=False, n=S.n_eval)[0]),
                       what="held-out MNIST (floor)", kid_subset=S.n_eval // 2)
fd = {}
for ax, (name, (G, D, log, sec)) in zip(axes, images.items()):
    with torch.no_grad():
        fake = torch.cat([G(z_eval[i:i + 256].to(device)).cpu() for i in range(0, S.n_eval, 256)])  # (n_eval, 1, 28, 28)
    fd[name] = features.score(net, ref, features.extract_features(net, fake), what=name, kid_subset=S.n_eval // 2)
    plotting.image_grid(fake[:36], nrow=6, ax=ax, title=f"{name}\n{1e3 * sec:.0f} ms per G step")
    measured(f"mnist_ms_per_step_{key.get(name, name)}", 1e3 * sec, unit="ms")
plt.show()
measured("mnist_fd_floor", floor["fd"])
real_digits = x_train[:512].to(device)  # (512, 1, 28, 28)
measured("mnist_slope_hinge_sn", float(gan_zoo.input_gradient_norms(images["hinge + SN"][1], real_digits, 1).median()))
for name in images:
    measured(f"mnist_fd_{key.get(name, name)}", fd[name]["fd"])

# %%
fig, axes = plt.subplots(len(images), 3, figsize=(13, 2.8 * len(images)))
for row, (name, (_, _, log, _)) in zip(axes, images.items()):
    gan_zoo.plot_health(log, title=name, axes=row)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Reading the MNIST runs** (FD (course classifier), one seed, {rec:mnist_fd_floor:.1f} for held-out digits):
# non-saturating {rec:mnist_fd_non_saturating:.0f}, hinge + SN {rec:mnist_fd_hinge_sn:.0f}, WGAN-GP
# {rec:mnist_fd_wgan_gp:.0f}, at {rec:mnist_ms_per_step_non_saturating:.0f}, {rec:mnist_ms_per_step_hinge_sn:.0f}
# and {rec:mnist_ms_per_step_wgan_gp:.0f} ms per G step. On images the spectrally normalised convolutional D
# is wide and sees 784 inputs in a fixed range: its median slope on real digits is {rec:mnist_slope_hinge_sn:.2f},
# against {rec:grid_sn_slope_small:.2f} for the toy's SN critic. For each run, read the three panels as §7 says: do D's real and fake scores separate for good
# (and does G's gradient still move), does the Wasserstein gap shrink? One seed per recipe at this budget
# ranks nothing; the full-scale commands below run the published comparison.
#
# At full scale the same losses train the models of the published comparisons on CIFAR-10:
# `course train sngan --dataset cifar10 --scale full` (ResNet, hinge, spectral norm, TTUR) and
# `course train wgan-gp --dataset cifar10 --scale full`, evaluated with FID (Inception) when its weights are
# present.
#
# **Exercise (prediction, then discussion; graded by hand).** Before running it, predict what happens to the
# toy WGAN-GP of §6 with `n_critic = 1` instead of 5 at the same number of G steps: more or fewer modes, and why
# (what does G descend when the critic is far from its maximiser?). Then run
# `gan_zoo.train_toy_seeds(dataclasses.replace(gan_zoo.TOY_RECIPES["WGAN-GP"], n_critic=1), grid, ...)` and
# compare its coverage and cost per step with §6's.
#
# ## Summary
#
# * Losses are pure functions of D's scores; changing the loss changes what G's gradient looks like where D is
#   confident (saturation) and whether D's scores stay bounded (hinge, least squares).
# * With disjoint supports the JSD is flat at log 2 while $W_1$ keeps a slope; the Wasserstein loss is
#   meaningful only with a Lipschitz critic: gradient penalty (`create_graph=True`, `n_critic` critic steps) or
#   spectral normalisation, which is exact for dense layers and only approximate for convolutions.
# * Simultaneous gradient play can circle an equilibrium forever (Dirac-GAN); R1 makes it converge.
# * Constraints have a scale: a spectrally normalised MLP critic on the 2-D grid is too flat to teach G.
# * Compare recipes at an equal number of G steps, say what each step costs, use several seeds, and read the
#   health plots together with the samples, never one loss curve alone.
