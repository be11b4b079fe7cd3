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
# # 13 · GANs for discrete data: SeqGAN, RL-GAN, GraphGAN
#
# Every GAN so far produced real numbers: pixels, piano-roll probabilities, points in the plane. D's gradient
# with respect to its input told G which way to move each number. Text, molecules and graphs are made of
# **discrete** choices: a word, an atom, a vertex. Source 004 lists this among GANs' drawbacks: they "find it hard
# to generate discrete data, like text". That is true, and it is not the end of the story. This chapter shows why
# it is hard and the two ways round it.
#
# **You will**
# 1. see a sampled token cut the graph between D and G;
# 2. build SeqGAN (Yu et al., AAAI 2017): G as a policy, D's probability of "real" as its reward, REINFORCE
#    with Monte Carlo roll-outs, MLE pre-training, D pre-training and adversarial training;
# 3. run the paper's synthetic experiment, an oracle LSTM with N(0, 1) weights, measured by oracle NLL, and then
#    read it honestly against the quality–diversity curve of a plain MLE model (Caccia et al. 2020);
# 4. train the same generator the other way round, with a straight-through Gumbel-softmax sample and the
#    ordinary GAN step;
# 5. train GraphGAN (Wang et al., AAAI 2018) on a real graph and measure link prediction against Adamic-Adar.
#
# **Prerequisites:** chapter 01 (the GAN game, `train.d_step` / `train.g_step`). No reinforcement learning
# background is assumed: the one result we need, the score-function gradient, is derived below.
#
# **Scale.** Numbers quoted in the text come from the verified `small` run (`course verify 13 --scale small`).
# At `full`, `course train seqgan --scale full` runs the paper's setting (vocabulary 5,000, length 20) with a
# checkpoint per phase; rerunning the command resumes where it stopped.

# %%
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from tqdm.auto import tqdm

from course_lib import plotting, train
from course_lib.checks import ch13 as check
from course_lib.claims import claim, measured
from course_lib.models import graphgan, seqgan
from course_lib.scale import get_scale

S = get_scale()
SZ = seqgan.sizes()  # this chapter's sizes at this scale (seqgan.SIZES)
GZ = graphgan.sizes()
train.set_threads()
train.seed_everything(0)
print(f"scale: {S.name}   torch {torch.__version__}")
print(SZ)
print(GZ)
T0 = time.perf_counter()

# %% [markdown]
# ## 1 · Why a sampled token stops D's gradient
#
# A text generator ends in a softmax over the vocabulary. To hand D a *sentence* it must pick a token:
# `argmax` or a draw from the softmax (`torch.multinomial`). Both return an integer index; an integer has no
# derivative with respect to the logits, so autograd records no path back to G.

# %%
logits = torch.randn(1, 5, requires_grad=True)  # G's output over a 5-token vocabulary
token = torch.multinomial(torch.softmax(logits, -1), 1)  # (1, 1) an index
one_hot = F.one_hot(token[:, 0], 5).float()  # what D would read
print(f"logits.requires_grad = {logits.requires_grad}, token = {token.item()}, token.grad_fn = {token.grad_fn}, "
      f"one_hot.requires_grad = {one_hot.requires_grad}")
d_score = (one_hot * torch.randn(5)).sum()  # any differentiable D
print(f"D's score requires grad: {d_score.requires_grad}  -> backward() could not reach G's logits")

# %% [markdown]
# > **Common misconception.** Source 004 lists among GANs' drawbacks that they "cannot generate discrete data,
# > like text", and leaves it there. The difficulty is real (the gradient of D's score with respect to G's weights
# > passes through the sample, and a sample of a discrete variable has none), but it is a property of the
# > *estimator*, not of the game: the minimax objective is as well defined for sequences as for images. Two
# > standard estimators work without that gradient, and this chapter trains both.
#
# Making D differentiable does not help: the break is in the *sample*. (Feeding D the softmax probabilities
# instead of a one-hot does give a gradient, but then D can tell real from fake by a glance at whether the input
# is exactly one-hot.) There are two ways round:
#
# * **treat G as an agent**: do not differentiate through the sample at all; use D's score as a *reward* and
#   estimate the gradient of the expected reward with the score-function (REINFORCE) identity. This is SeqGAN.
# * **relax the sample**: replace the draw by a differentiable stand-in whose forward pass is (close to) a
#   one-hot. This is the Gumbel-softmax, §6.
#
# > **Common misconception.** Source 003 lists "RGAN", GAN + reinforcement learning with "the generator an agent,
# > the discriminator its environment", as a fusion of its own next to SeqGAN. It is not a separate model family:
# > it *is* SeqGAN's training. SeqGAN is exactly a GAN whose generator is trained by policy gradient with D's
# > output as the reward; GraphGAN (§7) uses the same estimator on vertices. What differs between such papers is
# > the generator (an LSTM over tokens, a softmax over vertices) and how the reward of a partial sample is
# > estimated, not the kind of model.

# %% [markdown]
# ## 2 · The synthetic experiment: an oracle you can ask
#
# Real text has no known likelihood, so SeqGAN's authors built a world where it does: a randomly initialised
# LSTM, the **oracle** $G_{\text{oracle}}$, *is* the data distribution. It generates the training set
# (sizes printed below), and any sample $Y_{1:T}$ from a trained G is scored by how likely the oracle finds it:
#
# $$\text{NLL}_{\text{oracle}} = -\,\mathbb{E}_{Y_{1:T} \sim G_\theta}\Big[\tfrac{1}{T}\sum_{t=1}^{T} \log G_{\text{oracle}}(y_t \mid Y_{1:t-1})\Big]
# \quad\text{(nats per token; lower is better).}$$
#
# The paper's oracle has vocabulary 5,000, length 20 and 32 hidden units, with **weights drawn from N(0, 1)**.
# That detail matters: PyTorch's default initialisation (uniform in $\pm 1/\sqrt{H}$) gives an almost uniform
# oracle, whose every sample is as likely as any other. At `small` we keep the paper's widths (32) and shrink the
# vocabulary and the length (printed below); the paper's numbers (MLE 9.038, SeqGAN 8.736) are the `full` target.

# %%
oracle, x_train, x_heldout = seqgan.oracle_data(SZ, seed=0)
default = seqgan.Generator(vocab=SZ.vocab, emb=SZ.emb, hidden=SZ.hidden, seq_len=SZ.seq_len).eval()
h_oracle = seqgan.entropy_rate(oracle)
print(f"vocabulary V = {SZ.vocab}, length T = {SZ.seq_len}, embedding {SZ.emb}, hidden {SZ.hidden}; "
      f"{len(x_train)} training sequences, {len(x_heldout)} held out")
print(f"entropy per token: uniform {seqgan.uniform_nll(SZ.vocab):.3f} nats, default-initialised LSTM "
      f"{seqgan.entropy_rate(default):.3f}, N(0, 1) oracle {h_oracle:.3f}")
print("three oracle sequences:", x_train[:3].tolist())
measured("oracle_entropy", h_oracle, unit="nats/token")

# %% [markdown]
# Two numbers frame everything below. The oracle's own entropy rate, {rec:oracle_entropy:.2f} nats per token, is
# the oracle NLL of the oracle itself; a G with *lower* oracle NLL than that is possible and is no triumph: a G
# that always emits the oracle's single most likely sequence scores lower still. Keep this in mind for §5.

# %% [markdown]
# ## 3 · SeqGAN: the generator as an agent
#
# **The game.** State: the prefix $Y_{1:t-1}$. Action: the next token $y_t$. Policy: $G_\theta(y_t \mid Y_{1:t-1})$,
# an LSTM. Reward: D's probability that the finished sequence is real, given only at the end. G maximises the
# expected reward of a sequence from the start state,
#
# $$J(\theta) = \mathbb{E}_{Y_{1:T} \sim G_\theta}\big[D_\phi(Y_{1:T})\big] = \sum_{Y} G_\theta(Y)\, D_\phi(Y).$$
#
# **The score-function gradient.** $\nabla_\theta G_\theta(Y) = G_\theta(Y)\,\nabla_\theta \log G_\theta(Y)$, so
# $\nabla_\theta J = \mathbb{E}_{Y \sim G_\theta}[\nabla_\theta \log G_\theta(Y) \, D_\phi(Y)]$: an expectation we
# can estimate from samples, with no derivative of D or of the sample. Since $\log G_\theta(Y) = \sum_t \log
# G_\theta(y_t \mid Y_{1:t-1})$, the paper writes it per token with an action value $Q$ (eq. 6):
#
# $$\nabla_\theta J(\theta) \approx \frac{1}{B}\sum_{b=1}^{B} \sum_{t=1}^{T} \nabla_\theta \log G_\theta(y^b_t \mid Y^b_{1:t-1})\; Q(Y^b_{1:t-1}, y^b_t).$$
#
# In code that is the gradient of a **surrogate loss** whose rewards are constants. Write it:

# %% tags=["exercise"]
def reinforce_loss(log_probs, rewards):
    """log_probs (B, T): log G(y_t | Y_1:t-1) of the sampled tokens; rewards (B, T): Q of each action.
    Returns the scalar G minimises; its gradient is minus the REINFORCE estimate of ∇J."""
    ### BEGIN SOLUTION
    return -(log_probs * rewards.detach()).sum(1).mean()
    ### END SOLUTION


# %% tags=["check"]
check.reinforce_loss(reinforce_loss)

# %% [markdown]
# **Rewarding an unfinished prefix: Monte Carlo roll-outs.** D judges whole sequences, but the gradient needs a
# value for every action $y_t$. SeqGAN completes the prefix $Y_{1:t}$ $N$ times with a roll-out policy (here G
# itself, as in the paper's experiments) and averages D's verdicts (eq. 4):
#
# $$Q(Y_{1:t-1}, y_t) = \begin{cases} \frac{1}{N}\sum_{n=1}^{N} D_\phi(Y^n_{1:T}),\quad Y^n_{1:T} \in \mathrm{MC}^{G}(Y_{1:t}; N) & t < T \\[2pt] D_\phi(Y_{1:T}) & t = T. \end{cases}$$
#
# `G.complete(prefix, prefix_len)` runs G over a batch of rows, keeping row $m$'s first `prefix_len[m]` tokens
# and sampling the rest. Write the reward of a batch of prefixes of one length with it:

# %% tags=["exercise"]
def mc_reward(G, D, prefix, n):
    """prefix (B, t) token ids; returns (B,): the mean of sigmoid(D(·)) over n completions of each prefix."""
    ### BEGIN SOLUTION
    B, t = prefix.shape
    padded = F.pad(prefix, (0, G.seq_len - t))  # (B, T): the positions after t are placeholders
    rows = repeat(padded, "b t -> (n b) t", n=n)  # (n·B, T)
    done = G.complete(rows, torch.full((n * B,), t), generator=None)  # (n·B, T)
    with torch.no_grad():
        score = torch.sigmoid(D(done))  # (n·B, 1)
    return rearrange(score, "(n b) 1 -> n b", n=n).mean(0)  # (B,)
    ### END SOLUTION


# %% tags=["check"]
check.mc_reward(mc_reward)

# %% [markdown]
# A G step needs $Q$ for every position $t = 1..T-1$ of every sequence of the batch: $K = T-1$ prefix lengths,
# $N$ roll-outs each, $B$ sequences. A loop over them would call the LSTM $K \cdot N \cdot B$ times; instead all
# $K \cdot N \cdot B$ rows go through `G.complete` **as one batch** (each row with its own prefix length), $T$ LSTM
# steps in all. Written out, and checked against the package's `seqgan.rollout_rewards`:

# %%
def rollout_rewards(G, D, x, n):
    B, T = x.shape
    K = T - 1
    rows = repeat(x, "b t -> (k n b) t", k=K, n=n)  # (K·N·B, T)
    lens = repeat(torch.arange(1, T), "k -> (k n b)", n=n, b=B)  # (K·N·B,) prefix length of each row
    done = G.complete(rows, lens)  # (K·N·B, T) all roll-outs at once
    D.eval()
    with torch.no_grad():
        q = rearrange(torch.sigmoid(D(done)), "(k n b) 1 -> k n b", k=K, n=n).mean(1)  # (K, B)
        q_last = torch.sigmoid(D(x)).T  # (1, B): a finished sequence is scored by D itself
    return torch.cat([q, q_last]).T  # (B, T)


G_demo, D_demo = seqgan.build(SZ)
x_demo = G_demo.sample(8)  # (8, T)
torch.manual_seed(1)
mine = rollout_rewards(G_demo, D_demo, x_demo, SZ.n_rollouts)
torch.manual_seed(1)
torch.testing.assert_close(mine, seqgan.rollout_rewards(G_demo, D_demo, x_demo, SZ.n_rollouts))
print(f"Q for 8 sequences, shape {tuple(mine.shape)}; equals seqgan.rollout_rewards")

# %% [markdown]
# **The three phases.** (1) *MLE pre-training*: teacher forcing on the oracle's samples, the usual language-model
# loss $-\frac{1}{BT}\sum \log G_\theta(x_t \mid x_{<t})$; without it the policy gradient starts from noise and
# never finds the data. (2) *D pre-training*: D, a CNN over the token sequence with several filter widths,
# max-over-time pooling and a highway layer as in the paper, learns real against G's samples with the course's
# `train.d_step` (a token index carries no gradient, so there is nothing to detach). (3) *Adversarial*: one
# policy-gradient step of G, then D catches up for `d_per_adv` steps on fresh samples. The course subtracts the
# batch's mean reward at each position (a baseline) before the surrogate: the expected gradient is unchanged,
# $\mathbb{E}[\nabla \log G \cdot b] = 0$, and its variance smaller; the paper uses $Q$ itself.

# %%
plotting.flow_diagram(
    {"s": (0.08, 0.75, "prefix Y₁:ₜ₋₁\n(state)"), "G": (0.3, 0.75, "G_θ: LSTM policy"),
     "y": (0.52, 0.75, "yₜ ~ G(·|Y₁:ₜ₋₁)\n(action, an index)"), "mc": (0.78, 0.75, "N roll-outs\nY¹..ᴺ₁:T ~ G"),
     "D": (0.78, 0.25, "D_φ: CNN\nP(real | Y₁:T)"), "real": (0.97, 0.5, "oracle\nsamples"),
     "loss": (0.35, 0.22, "surrogate\n−Σₜ log G(yₜ|·) · Qₜ")},
    [("s", "G", ""), ("G", "y", "sample: no gradient"), ("y", "mc", ""), ("mc", "D", "Y (indices)"),
     ("real", "D", ""), ("D", "loss", "reward Qₜ (constant)"), ("loss", "G", "∇θ (REINFORCE)")],
    title="SeqGAN: D's score is a reward; G's gradient comes from log G, not through the sample", size=(10, 3.4))
plt.show()

# %% [markdown]
# The adversarial G step, as the package writes it (`seqgan.pg_step`):
#
# ```python
# x = G.sample(batch)                          # (B, T) actions
# q = rollout_rewards(G, D, x, n_rollouts)     # (B, T) rewards, no gradient
# loss = pg_loss(G.log_probs(x), q - q.mean(0, keepdim=True))   # your reinforce_loss, with a baseline
# opt_G.zero_grad(); loss.backward(); opt_G.step()
# ```
#
# ## 4 · Training SeqGAN over three seeds
#
# Each run below is the three phases for one seed (`seqgan.run_seqgan`: each phase a run of the course's `fit`
# loop, with a checkpoint per phase when given a folder), with the oracle NLL of 2,000-odd samples
# measured every `eval_every` steps, the paper's learning curve.

# %%
runs = []
t0 = time.perf_counter()
for seed in range(SZ.seeds):
    G, D, curve, mle_state = seqgan.run_seqgan(SZ, oracle, x_train, seed=seed)
    G_mle = seqgan.Generator(vocab=SZ.vocab, emb=SZ.emb, hidden=SZ.hidden, seq_len=SZ.seq_len)
    G_mle.load_state_dict(mle_state)
    runs.append({"seed": seed, "G": G, "D": D, "mle": G_mle.eval(), "curve": curve})
t_seqgan = time.perf_counter() - t0
print(f"{SZ.seeds} seeds of SeqGAN in {t_seqgan:.0f} s")

# %%
gen = torch.Generator().manual_seed(123)
random_G = [seqgan.build(SZ)[0].eval() for _ in range(SZ.seeds)]
nll_random = [seqgan.nll(oracle, g.sample(SZ.n_eval, generator=gen)) for g in random_G]
nll_mle = [seqgan.nll(oracle, r["mle"].sample(SZ.n_eval, generator=gen)) for r in runs]
nll_seqgan = [seqgan.nll(oracle, r["G"].sample(SZ.n_eval, generator=gen)) for r in runs]
d_accuracy = []  # how well the final D tells held-out oracle sequences from the final G's samples
for r in runs:
    with torch.no_grad():
        p_real = torch.sigmoid(r["D"].eval()(x_heldout))  # (n_eval, 1)
        p_fake = torch.sigmoid(r["D"](r["G"].sample(len(x_heldout), generator=gen)))
    d_accuracy.append(0.5 * float((p_real > 0.5).float().mean() + (p_fake < 0.5).float().mean()))
print("D's accuracy, held-out real vs G's samples: " + "  ".join(f"{a:.3f}" for a in d_accuracy))
for name, v in (("random G", nll_random), ("MLE", nll_mle), ("SeqGAN", nll_seqgan)):
    print(f"oracle NLL {name:9}: " + "  ".join(f"{x:.3f}" for x in v) + f"   (seeds 0..{SZ.seeds - 1})")

fig, ax = plt.subplots(figsize=(7, 3.6))
for r in runs:
    steps = [c[1] for c in r["curve"]]
    ax.plot(steps, [c[2] for c in r["curve"]], marker=".", label=f"seed {r['seed']}")
ax.axvline(SZ.mle_steps, color="k", ls="--", lw=1)
ax.text(SZ.mle_steps, ax.get_ylim()[1], " adversarial →", va="top", fontsize=9)
ax.axhline(h_oracle, color="grey", ls=":", lw=1, label="oracle's own entropy")
ax.set_xlabel("G steps (MLE pre-training, then policy gradient)")
ax.set_ylabel("oracle NLL (nats / token)")
ax.set_title("The paper's learning curve at this scale")
ax.legend(fontsize=8)
plt.show()

# %%
claim("random_above_mle", [r - m for r, m in zip(nll_random, nll_mle)], ">", 2.0,
      "MLE pre-training lowers the oracle NLL of G's samples by more than 2 nats per token (mean of seeds)")
measured("nll_oracle_random", nll_random, unit="nats/token")
measured("nll_oracle_mle", nll_mle, unit="nats/token")
measured("nll_oracle_seqgan", nll_seqgan, unit="nats/token")
measured("seqgan_minus_mle", [s - m for s, m in zip(nll_seqgan, nll_mle)], unit="nats/token")
claim("seqgan_stays_near_mle", [s - m for s, m in zip(nll_seqgan, nll_mle)], "<", 0.1,
      "adversarial training keeps the oracle NLL within 0.1 nats per token above MLE's (the policy gradient is stable)")
measured("seconds_seqgan", t_seqgan, unit="s")
measured("d_accuracy", d_accuracy)

# %% [markdown]
# **What the run shows.** Random G: oracle NLL {rec:nll_oracle_random:pm}; after MLE pre-training
# {rec:nll_oracle_mle:pm}; after adversarial training {rec:nll_oracle_seqgan:pm} (nats per token, mean ± sd over
# seeds). The first step, random > MLE, is large and certain. The second, SeqGAN below MLE, is what the paper
# reports (9.038 → 8.736 at vocabulary 5,000). Here the change from MLE to SeqGAN is {rec:seqgan_minus_mle:pm}
# nats per token: of the order of the seed-to-seed spread of MLE itself, so this run does **not** establish that
# SeqGAN beats MLE, and the chapter does not claim it. What it does check is that the policy gradient is stable:
# adversarial training leaves the oracle NLL within 0.1 nats of where MLE left it. At this budget ({rec:seconds_seqgan:.0f} s for all seeds) the reward is a weak signal:
# the final D tells held-out oracle sequences from G's samples with accuracy {rec:d_accuracy:pm} (chance is 0.5),
# so its score varies little between G's good and bad sequences, and a step on 64 sequences with a few roll-outs
# each is noisy. `course train seqgan --scale full` runs the paper's setting. The next section explains
# why, even where SeqGAN's number is lower, that number alone would not say what it seems to say.

# ## 5 · The honest half: quality *and* diversity
#
# Oracle NLL is a measure of **quality** only: it asks whether G's samples are likely under the oracle, never
# whether G covers what the oracle can say. A G that only ever says the oracle's favourite sentence has a superb
# oracle NLL. Caccia et al. (2020, "Language GANs falling short") therefore add the other direction,
#
# $$\text{NLL}_{\text{test}} = -\,\mathbb{E}_{Y \sim G_{\text{oracle}}}\Big[\tfrac{1}{T}\sum_t \log G_\theta(y_t \mid Y_{1:t-1})\Big]$$
#
# on held-out oracle samples, which punishes every mode G drops, and compare models on the whole
# **quality–diversity curve**: an MLE model sampled at temperature $\tau$, $G_\theta^{(\tau)}(y_t \mid \cdot)
# \propto \exp(\text{logit}_t / \tau)$, trades one for the other with a single knob. If a GAN's point lies on or
# above that curve, the GAN only bought quality with diversity, which lowering $\tau$ does for free.

# %%
taus = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1]
curves = []
for r in runs:
    curves.append([(seqgan.nll(oracle, r["mle"].sample(SZ.n_eval, temperature=t, generator=gen)),
                    seqgan.nll(r["mle"], x_heldout, temperature=t)) for t in taus])
test_mle = [seqgan.nll(r["mle"], x_heldout) for r in runs]
test_seqgan = [seqgan.nll(r["G"], x_heldout) for r in runs]
fig, ax = plt.subplots(figsize=(6.5, 4))
for i, (r, c) in enumerate(zip(runs, curves)):
    ax.plot([p[0] for p in c], [p[1] for p in c], "-o", color=f"C{i}", ms=3, alpha=0.7,
            label="MLE at τ = 0.6 … 1.1" if i == 0 else None)
    ax.plot(nll_seqgan[i], test_seqgan[i], "*", color=f"C{i}", ms=12, label="SeqGAN" if i == 0 else None)
for t, p in zip(taus, curves[0]):
    ax.annotate(f"τ={t}", p, fontsize=7, xytext=(3, 3), textcoords="offset points")
ax.set_xlabel("oracle NLL of G's samples (quality; lower is better)")
ax.set_ylabel("NLL_test: held-out oracle data under G\n(diversity; lower is better)")
ax.set_title("Quality–diversity: SeqGAN against MLE's temperature curve")
ax.legend(fontsize=8)
plt.show()

i_07 = taus.index(0.7)
nll_mle_07 = [c[i_07][0] for c in curves]
test_mle_07 = [c[i_07][1] for c in curves]
claim("temperature_beats_seqgan", [s - m for s, m in zip(nll_seqgan, nll_mle_07)], ">", 0.4,
      "MLE sampled at τ = 0.7 has a lower oracle NLL than SeqGAN by more than 0.4 nats per token")
claim("temperature_costs_diversity", [a - b for a, b in zip(test_mle_07, test_mle)], ">", 0.05,
      "the same τ = 0.7 raises NLL_test (held-out oracle data under G) by more than 0.05 nats per token")
measured("nll_oracle_mle_t07", nll_mle_07, unit="nats/token")
measured("nll_test_mle", test_mle, unit="nats/token")
measured("nll_test_mle_t07", test_mle_07, unit="nats/token")
measured("nll_test_seqgan", test_seqgan, unit="nats/token")

# %% [markdown]
# **Reading the plot.** One knob moves MLE along a curve: at $\tau = 0.7$ its oracle NLL falls to
# {rec:nll_oracle_mle_t07:pm}, far below SeqGAN's {rec:nll_oracle_seqgan:pm}, and its NLL_test rises from
# {rec:nll_test_mle:pm} to {rec:nll_test_mle_t07:pm}: the quality was bought with diversity. SeqGAN's NLL_test is
# {rec:nll_test_seqgan:pm}. This is Caccia et al.'s finding: measured on both axes, the language GANs of that
# generation did not beat a well-tuned MLE model with a temperature; their oracle-NLL gains came largely from
# lower entropy. A claim that a GAN "generates better text" needs both numbers.

# %% [markdown]
# ## 6 · The other way round: a relaxed sample and the ordinary GAN step
#
# **The Gumbel-max trick.** If $g_v = -\log(-\log u_v)$ with $u_v \sim U(0, 1)$, then
# $\arg\max_v (\text{logit}_v + g_v)$ is an exact sample from $\mathrm{softmax}(\text{logit})$. Replace the argmax
# by a softmax at temperature $\tau$ and the sample becomes differentiable (Jang et al. 2017; Maddison et al. 2017):
#
# $$\tilde y = \mathrm{softmax}\big((\text{logit} + g)/\tau\big).$$
#
# Write it (the check also verifies the Gumbel-max property by sampling):

# %% tags=["exercise"]
def gumbel_softmax_sample(logits, tau, u):
    """logits (B, V), temperature tau, u (B, V) uniform in (0, 1) -> relaxed one-hot (B, V)."""
    ### BEGIN SOLUTION
    g = -torch.log(-torch.log(u))  # Gumbel(0, 1) noise
    return torch.softmax((logits + g) / tau, -1)
    ### END SOLUTION


# %% tags=["check"]
check.gumbel_softmax_sample(gumbel_softmax_sample)

# %% [markdown]
# **Straight-through.** A soft $\tilde y$ would let D spot fakes by their non-one-hot inputs. The *straight-through*
# version sends the hard one-hot $\mathrm{onehot}(\arg\max \tilde y)$ forward and uses $\tilde y$'s gradient
# backward: `y_hard - y_soft.detach() + y_soft` (`F.gumbel_softmax(..., hard=True)`). G feeds this one-hot into
# its own next step and hands the whole $(B, T, V)$ sequence to the same D, which embeds it by a matrix product
# with its embedding table. So D's gradient reaches G, and the step is chapter 01's: `train.d_step` on
# `(real one-hots, fake.detach())`, then `train.g_step` through the frozen, updated D. We start from the same MLE
# pre-trained G as SeqGAN.

# %%
plotting.flow_diagram(
    {"G": (0.1, 0.7, "G_θ: LSTM"), "gs": (0.38, 0.7, "straight-through\nGumbel-softmax\nforward one-hot,\nbackward soft"),
     "x": (0.66, 0.7, "x̃ (B, T, V)"), "D": (0.88, 0.45, "D_φ: CNN"), "real": (0.66, 0.15, "one-hot(x) (B, T, V)"),
     "loss": (0.35, 0.2, "d_step on x̃.detach()\ng_step through frozen D")},
    [("G", "gs", "logits"), ("gs", "x", ""), ("x", "D", ""), ("real", "D", ""), ("D", "loss", ""),
     ("loss", "G", "∂/∂θ through x̃")],
    title="Gumbel-softmax GAN: the ordinary GAN step, gradient through a relaxed sample", size=(10, 3.2))
plt.show()

# %%
nll_gumbel, test_gumbel = [], []
t0 = time.perf_counter()
for r in runs:
    train.seed_everything(100 + r["seed"])
    Gg, Dg = seqgan.build(SZ)
    Gg.load_state_dict(r["mle"].state_dict())
    opt_G = torch.optim.Adam(Gg.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(Dg.parameters(), lr=1e-3, betas=(0.5, 0.999))
    order = torch.Generator().manual_seed(r["seed"])
    for step in tqdm(range(SZ.gumbel_steps), desc=f"Gumbel GAN, seed {r['seed']}", leave=False):
        real = x_train[torch.randint(0, len(x_train), (SZ.batch,), generator=order)]  # (B, T)
        stats = seqgan.gumbel_gan_step(Gg, Dg, opt_G, opt_D, real, SZ.tau)
    Gg.eval()
    nll_gumbel.append(seqgan.nll(oracle, Gg.sample(SZ.n_eval, generator=gen)))
    test_gumbel.append(seqgan.nll(Gg, x_heldout))
t_gumbel = time.perf_counter() - t0
print(f"Gumbel-softmax GAN: {SZ.gumbel_steps} steps x {SZ.seeds} seeds in {t_gumbel:.0f} s")
print("              oracle NLL          NLL_test")
for name, a, b in (("MLE", nll_mle, test_mle), ("SeqGAN", nll_seqgan, test_seqgan),
                   ("Gumbel GAN", nll_gumbel, test_gumbel)):
    print(f"{name:11} {sum(a) / len(a):8.3f}          {sum(b) / len(b):8.3f}")
measured("nll_oracle_gumbel", nll_gumbel, unit="nats/token")
measured("nll_test_gumbel", test_gumbel, unit="nats/token")
claim("gumbel_moves_g", [abs(a - b) for a, b in zip(test_gumbel, test_mle)], ">", 0.01,
      "D's gradient reaches G through the straight-through sample: the GAN steps move NLL_test by > 0.01 nats")

# %% [markdown]
# **What each costs, where each fails.** The Gumbel GAN reached oracle NLL {rec:nll_oracle_gumbel:pm} and NLL_test
# {rec:nll_test_gumbel:pm}, against MLE's {rec:nll_oracle_mle:pm} and {rec:nll_test_mle:pm}: D's gradient does reach
# G (the claim above checks that G moved), but here it moved G slightly *away* from the oracle on both axes. The
# straight-through gradient is the gradient of a different, relaxed function ($\tau = 1$ sits at the biased end of
# the trade-off), and on a task MLE already fits well a biased adversarial gradient has little to add.
#
# | | SeqGAN (policy gradient) | Gumbel-softmax (relaxation) |
# |---|---|---|
# | gradient | unbiased, high variance | low variance, **biased** (straight-through is not the true gradient; $\tau$ trades bias for variance) |
# | cost of a G step | $T$ LSTM steps over $K \cdot N \cdot B$ roll-out rows, plus D on all of them | one pass, like an image GAN |
# | D sees | token indices | one-hots (soft ones if not straight-through, which D tells apart at once) |
# | fails when | the reward is flat (a D near ½ gives no signal) or sparse | $\tau$ is large (biased) or small (gradients explode); long sequences compound the bias |
#
# Neither needs a gradient through the token itself, and both start here from the MLE pre-trained G, as the
# SeqGAN paper does: from random weights, the reward (or D's gradient) points almost nowhere useful.

# %% [markdown]
# ## 7 · GraphGAN: the same estimator on vertices
#
# GraphGAN (Wang et al., AAAI 2018) learns **vertex embeddings**. For each vertex $v_c$, G approximates the
# connectivity distribution $p_{\text{true}}(v \mid v_c)$, "which vertices does $v_c$ link to", and D tells true
# neighbours from G's proposals:
#
# $$\min_{\theta_G} \max_{\theta_D} \sum_c \Big( \mathbb{E}_{v \sim p_{\text{true}}(\cdot|v_c)}[\log D(v, v_c)]
#   + \mathbb{E}_{v \sim G(\cdot|v_c)}[\log(1 - D(v, v_c))] \Big),\qquad D(v, v_c) = \sigma(d_v^\top d_{v_c}),\quad
#   G(v \mid v_c) = \frac{\exp(g_v^\top g_{v_c})}{\sum_{v' \ne v_c} \exp(g_{v'}^\top g_{v_c})}.$$
#
# G *samples a vertex*: a discrete choice, so G is trained by policy gradient exactly as in SeqGAN, with reward
# $-\log(1 - D(v, v_c)) = \mathrm{softplus}(d_v^\top d_{v_c})$ (the paper's eq. 4). We use the plain softmax over
# vertices; the paper's **graph softmax** replaces it by a product of softmaxes along the path from $v_c$ to $v$
# in a BFS tree rooted at $v_c$. That still sums to 1, makes the probability decay with graph distance, and
# costs $O(d \log V)$ per sample instead of $O(V)$: it matters for a million vertices, not for the 77 of the
# Les Misérables co-occurrence graph (bundled with networkx) used here.
#
# > **Common misconception.** Source 003 describes GraphGAN as GAN + *graph neural network* "used to generate
# > graph-structured data". GraphGAN is neither: its players are embedding tables with a softmax and an inner
# > product (no message passing), and it generates *vertices* (neighbours of a given vertex), never a graph. Its
# > product is the embeddings, used for link prediction, node classification and recommendation. Generating whole
# > graphs is another line of work (e.g. GraphRNN, NetGAN, MolGAN).
#
# **Protocol.** Hold out 10% of the edges (never a vertex's last one) and as many non-edges, train on the rest,
# score each held-out pair by $g_u^\top g_v$, and report the AUROC over many random splits (20 at `small`), since one split of
# a 254-edge graph tests only 25 edges. The classical baseline is **Adamic-Adar**, $\sum_{w \in N(u) \cap N(v)}
# 1/\log \deg w$: common neighbours, each weighted by how rare it is, on the training graph.

# %%
n_v, edges = graphgan.load_graph(GZ.graph)
print(f"{GZ.graph}: {n_v} vertices, {len(edges)} edges; {GZ.n_splits} splits, {GZ.steps} GraphGAN steps each")
t0 = time.perf_counter()
auc = graphgan.link_prediction(GZ)
t_graph = time.perf_counter() - t0
fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.boxplot([auc["graphgan"], auc["adamic_adar"]], showmeans=True)
ax.set_xticks([1, 2], ["GraphGAN (g_u · g_v)", "Adamic-Adar"])
ax.axhline(0.5, color="grey", ls=":", lw=1)
ax.set_ylabel("link-prediction AUROC")
ax.set_title(f"{GZ.graph}: {GZ.n_splits} random edge splits")
plt.show()
print(f"GraphGAN AUROC {sum(auc['graphgan']) / GZ.n_splits:.3f}, Adamic-Adar "
      f"{sum(auc['adamic_adar']) / GZ.n_splits:.3f} ({t_graph:.0f} s)")
claim("graphgan_above_chance", auc["graphgan"], ">", 0.7,
      "GraphGAN's embeddings predict held-out links: mean AUROC above 0.7 over the splits")
measured("auroc_graphgan", auc["graphgan"])
measured("auroc_adamic_adar", auc["adamic_adar"])
claim("adamic_adar_above_graphgan", [a - b for a, b in zip(auc["graphgan"], auc["adamic_adar"])], "<", -0.05,
      "on this small, clustered graph Adamic-Adar's AUROC exceeds GraphGAN's by more than 0.05 (mean over splits)")

# %% [markdown]
# **Result.** GraphGAN's AUROC is {rec:auroc_graphgan:pm}, well above chance (0.5); Adamic-Adar's is
# {rec:auroc_adamic_adar:pm}. On a small graph as clustered as this one (characters who appear together form
# cliques), counting shared neighbours is a very strong predictor, and GraphGAN, trained from random embeddings
# for a few hundred steps, does not reach it at this scale (the claim above checks that gap). The paper
# initialises both players from embeddings pre-trained with DeepWalk and evaluates on larger, sparser graphs
# (arXiv-AstroPh, arXiv-GrQc), where it beats DeepWalk, LINE and node2vec; those graphs are not bundled, and
# `full` here only trains longer, over more splits, on the same graph. The course's `full` target, GraphGAN above
# a classical baseline, is therefore not met by this chapter as it stands.
#
# ## Summary
#
# * A sampled token (or vertex) is an integer: no gradient passes through it. Policy gradient goes round it by
#   differentiating $\log G$ instead of the sample; the Gumbel-softmax goes through it with a biased relaxation.
# * SeqGAN = MLE pre-training + D pre-training + REINFORCE with D's score as reward, Monte Carlo roll-outs for
#   unfinished prefixes. "RL-GAN" is this training, not another family.
# * Oracle NLL measures quality only. Judge a sequence GAN on quality *and* diversity (NLL_test) against MLE's
#   temperature curve.
# * GraphGAN learns embeddings with the same policy gradient over vertices; it does not generate graphs.

# %%
measured("seconds_total", time.perf_counter() - T0, unit="s")
print(f"chapter ran in {time.perf_counter() - T0:.0f} s")
