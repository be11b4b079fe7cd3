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
# reliable between 2017 and 2019: other losses, constraints on the discriminator, and separate learning rates,
# and compares them on the same data with the same budget.
#
# **You will**
# 1. write the least-squares, hinge and Wasserstein losses as pure functions on D's raw scores;
# 2. enforce a Lipschitz critic with the gradient penalty (WGAN-GP, `n_critic` critic steps per G step) and with
#    spectral normalisation; regularise D with R1; give D a faster learning rate (TTUR);
# 3. read a run's health from its log: D's scores on real and fake data, both losses, both gradient norms;
# 4. compare the recipes on the 5×5 grid (modes recovered, % high-quality samples) and on MNIST
#    (FD (course classifier)).
#
# **Prerequisites:** chapters 01 (the game, saturating vs non-saturating loss, mode coverage) and 02 (DCGAN,
# FD/KID and the course classifier).

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn
from tqdm.auto import tqdm

from course_lib import data, features, gan_zoo, losses, metrics, plotting, train
from course_lib.checks import ch03 as check
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
# The least-squares loss penalises fakes by their *distance* to the real target, so a fake that D already
# classifies correctly but far from the data still gets a gradient: the sigmoid's saturation is gone. The hinge
# stops pushing D once a score is past its margin, which keeps D's scores bounded.

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
# > minimises $\log(1-D(G(z)))$; that is the *saturating* loss whose gradient vanishes when D wins, which is why
# > practice uses the non-saturating $-\log D(G(z))$. The least-squares and Wasserstein losses mentioned next to
# > it in the source are two further ways to keep G's gradient alive, not variants of the same formula.
#
# ## 2 · The Wasserstein critic needs a Lipschitz constraint
#
# The Kantorovich–Rubinstein duality gives $W_1(p_\text{data}, p_g) = \max_{\lVert D\rVert_L\le1}
# \mathbb{E}_{x}[D(x)] - \mathbb{E}_{z}[D(G(z))]$. Without the constraint $\lVert D\rVert_L\le1$ the maximum is
# infinite. WGAN-GP (Gulrajani et al. 2017, eq. 3) softly enforces unit gradient norm on points $\hat x$
# between real and fake samples:
#
# $$L_D = \mathbb{E}[D(\tilde x)] - \mathbb{E}[D(x)] + \lambda\,\mathbb{E}_{\hat x}\big[(\lVert\nabla_{\hat x}D(\hat x)\rVert_2-1)^2\big],
# \qquad \hat x=\epsilon x+(1-\epsilon)\tilde x,\ \epsilon\sim U[0,1].$$
#
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
# **Spectral normalisation** (Miyato et al. 2018) makes every layer 1-Lipschitz by construction: each weight
# matrix is divided by its largest singular value $\sigma(W)$, estimated by one step of power iteration per
# forward pass ($u \leftarrow Wv/\lVert Wv\rVert$, $v \leftarrow W^\top u/\lVert W^\top u\rVert$, $\sigma \approx
# u^\top W v$). Written out, and checked against the exact value and against PyTorch's parametrisation:

# %%
def spectral_norm_estimate(W, iters=50):
    v = torch.randn(W.shape[1], generator=torch.Generator().manual_seed(0))  # (in,)
    for _ in range(iters):
        u = W @ v
        u = u / u.norm()  # (out,)
        v = W.T @ u
        v = v / v.norm()  # (in,)
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
# **R1** (Mescheder et al. 2018) penalises D's gradient on *real* data only, $\frac{\gamma}{2}\mathbb{E}_x
# \lVert\nabla_x D(x)\rVert^2$: near equilibrium D should be flat on the data, and this keeps D from overshooting
# there. **TTUR** (Heusel et al. 2017) gives D a larger learning rate than G (e.g. $4\cdot10^{-4}$ vs
# $10^{-4}$); the two time scales come with a convergence proof to a local Nash equilibrium.
#
# ## 3 · One step for the whole zoo
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
# ## 4 · The 5×5 grid, recipe by recipe
#
# Same MLPs as chapter 01 (3 hidden layers of 128), same data, seeded, and the same cost: every recipe gets the
# same number of **D updates**, so WGAN-GP (5 critic steps per G step) makes 5 times fewer G steps. Modes are
# counted as in chapter 01: a mode is recovered when it holds at least a fifth of its fair share of the samples
# lying within 3σ of a centre.

# %%
toy_steps = S.toy_steps  # D updates per recipe
Z_TOY = 2  # as in chapter 01: as many latent dimensions as the data has
for name, r in gan_zoo.TOY_RECIPES.items():
    print(f"{name:<16} loss={r.loss:<15} n_critic={r.n_critic} λ_GP={r.gp:<4} γ_R1={r.r1:<4} SN={r.spectral_norm!s:<5} "
          f"lr G/D = {r.lr_G:g}/{r.lr_D:g}")

toy = {}
for name, r in tqdm(gan_zoo.TOY_RECIPES.items(), desc="recipes"):
    G, log = gan_zoo.train_toy(r, grid, steps=toy_steps // r.n_critic, batch_size=S.toy_batch, seed=0,
                               z_dim=Z_TOY, log_every=max(1, toy_steps // r.n_critic // 50))
    with torch.no_grad():
        samples = G(torch.randn(S.toy_eval_samples, Z_TOY, generator=torch.Generator().manual_seed(1)))  # (N, 2)
    toy[name] = (samples, log, metrics.mode_coverage(samples, grid.centers, grid.std))

print(f"\n5x5 grid, {toy_steps} D updates each, {S.toy_eval_samples} samples each:")
for name, (_, _, cov) in toy.items():
    print(f"  {name:<16} {cov}")

# %%
fig, axes = plt.subplots(1, len(toy), figsize=(3.0 * len(toy), 3.2))
for ax, (name, (samples, _, cov)) in zip(axes, toy.items()):
    plotting.scatter_2d(samples[:2000], grid, ax=ax, title=f"{name}\n{cov.modes}/25 modes", lim=6)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5 · Reading a run's health
#
# The log of every run holds D's mean score on real and fake batches, both losses and both gradient norms. Three
# patterns to recognise:
#
# * **D wins:** real and fake scores separate for good, D's loss falls towards 0, G's gradient norm collapses
#   (saturating loss) or explodes (non-saturating): G is no longer learning anything useful.
# * **Collapse:** losses oscillate with a long period while G's samples jump from mode to mode.
# * **Healthy:** scores stay close, both gradient norms stay within an order of magnitude over training; for the
#   Wasserstein critic, $\mathbb{E}[D(x)]-\mathbb{E}[D(G(z))]$ (an estimate of $W_1$) trends down.

# %%
best = max(toy, key=lambda k: (toy[k][2].modes, toy[k][2].high_quality))
worst = min(toy, key=lambda k: (toy[k][2].modes, toy[k][2].high_quality))
fig, axes = plt.subplots(2, 3, figsize=(13, 5.6))
gan_zoo.plot_health(toy[worst][1], title=worst, axes=axes[0])
gan_zoo.plot_health(toy[best][1], title=best, axes=axes[1])
plt.tight_layout()
plt.show()
print(f"fewest modes: {worst} ({toy[worst][2]});  most modes: {best} ({toy[best][2]})")

# %% [markdown]
# ## 6 · The same recipes on MNIST
#
# The DCGAN of chapter 02 (same width, same data), with three recipes. The WGAN-GP critic has no BatchNorm: the
# penalty is a per-sample gradient norm, and BatchNorm makes each sample's score depend on the rest of the
# batch. To compare at equal cost, every recipe gets the same number of **D updates**, so WGAN-GP makes
# `n_critic` times fewer G steps.

# %%
Z, w = 100, S.width // 8
image_steps = S.image_steps // 2
x_train, _ = data.load_images("mnist", train=True, n=S.n_train)  # (N, 1, 28, 28)
IMAGE_RECIPES = {
    "non-saturating": gan_zoo.Recipe("non-saturating", lr_G=2e-4, lr_D=2e-4),
    "hinge + SN + TTUR": gan_zoo.Recipe("hinge + SN + TTUR", loss="hinge", spectral_norm=True, lr_G=1e-4, lr_D=4e-4,
                                        betas=(0.0, 0.9)),
    "WGAN-GP": gan_zoo.Recipe("WGAN-GP", loss="wgan", n_critic=5, gp=10.0, lr_G=1e-4, lr_D=1e-4),
}


def train_image_recipe(r, seed=0):
    train.seed_everything(seed)
    G = dcgan.Generator(z_dim=Z, channels=1, image_size=28, width=w).to(device)
    D = dcgan.Discriminator(channels=1, image_size=28, width=w, batchnorm=not (r.gp or r.spectral_norm),
                            spectral_norm=r.spectral_norm).to(device)
    G.apply(dcgan.init_weights)
    opt_G, opt_D = r.optimizers(G, D)
    batches = data.Batches(x_train.to(device), batch_size=S.batch_size, seed=seed)
    log = []
    g_steps = max(1, image_steps // r.n_critic)
    for i in tqdm(range(1, g_steps + 1), desc=r.name, mininterval=1.0, leave=False):
        stats = gan_zoo.zoo_step(G, D, opt_G, opt_D, batches, Z, d_loss=r.d_loss, g_loss=r.g_loss,
                                 n_critic=r.n_critic, penalty=r.penalty())
        if i % max(1, g_steps // 50) == 0:
            log.append({"step": i, **{k: float(v) for k, v in stats.items()}})
    return G.eval(), log


images = {name: train_image_recipe(r) for name, r in IMAGE_RECIPES.items()}

# %%
net = features.course_classifier("mnist", device=device)
ref = features.extract_features(net, data.load_images("mnist", train=True, n=S.n_eval, seed=1)[0])  # (n_eval, F)
z_eval = torch.randn(S.n_eval, Z, generator=torch.Generator().manual_seed(2))
fig, axes = plt.subplots(1, len(images), figsize=(3.6 * len(images), 3.8))
print(f"MNIST, {image_steps} D updates each, {S.n_eval} samples, course classifier "
      f"(test accuracy {100 * net.test_accuracy:.1f}%):")
features.score(net, ref, features.extract_features(net, data.load_images("mnist", train=False, n=S.n_eval)[0]),
               what="held-out MNIST (floor)", kid_subset=S.n_eval // 2)
for ax, (name, (G, log)) in zip(axes, images.items()):
    with torch.no_grad():
        fake = torch.cat([G(z_eval[i:i + 256].to(device)).cpu() for i in range(0, S.n_eval, 256)])  # (n_eval, 1, 28, 28)
    features.score(net, ref, features.extract_features(net, fake), what=name, kid_subset=S.n_eval // 2)
    plotting.image_grid(fake[:36], nrow=6, ax=ax, title=name)
plt.show()

# %%
fig, axes = plt.subplots(len(images), 3, figsize=(13, 2.8 * len(images)))
for row, (name, (_, log)) in zip(axes, images.items()):
    gan_zoo.plot_health(log, title=name, axes=row)
plt.tight_layout()
plt.show()

# %% [markdown]
# At full scale the same losses train the models of the published comparisons on CIFAR-10:
# `course train sngan --dataset cifar10 --scale full` (ResNet, hinge, spectral norm, TTUR) and
# `course train wgan-gp --dataset cifar10 --scale full`, evaluated with FID (Inception) when its weights are
# present.
#
# ## Summary
#
# * Losses are pure functions of D's scores; changing the loss changes what G's gradient looks like where D is
#   confident (saturation) and whether D's scores stay bounded (hinge, least squares, penalties).
# * The Wasserstein loss is meaningful only with a Lipschitz critic: gradient penalty (`create_graph=True`,
#   `n_critic` critic steps) or spectral normalisation.
# * R1 keeps D flat on the data; TTUR lets D learn faster than G.
# * Judge a run by its health plots and by measured coverage / FD, never by one loss curve; and compare recipes
#   at equal cost, with the seed fixed, knowing that one seed is one sample.
