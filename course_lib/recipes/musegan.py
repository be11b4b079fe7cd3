"""`course train musegan`: WGAN-GP training of MuseGAN's designs on the Bach chorales, the chapter's step
(`gan_zoo.zoo_step` with MuseGAN's per-track gradient penalty) on the one loop, with piano-roll images, MIDI
samples and MuseGAN's metrics against the training data."""

from __future__ import annotations

import json

import torch

from .. import data, gan_zoo, loop, losses, music, train
from .. import music_metrics as mm
from ..models.musegan import DESIGNS, build, default_sizes, generate, gradient_penalty, optimizers
from . import options


def _parser():
    p = options.parser("musegan", __doc__.split("\n\n")[0], steps_help="G steps per design: image_steps / 2",
                       run_dir="musegan-SCALE")
    p.add_argument("--design", default="all", choices=DESIGNS + ("all",))
    p.add_argument("--batch-size", type=int, default=None, help="default: half the scale's batch size")
    p.add_argument("--width", type=int, default=None, help="width of each track's generator (default: scale width / 4)")
    p.add_argument("--critic-width", type=int, default=None, help="width of each track's critic (default: width / 2)")
    p.add_argument("--n-chorales", type=int, default=None, help="chorales parsed (default: n_train / 128; all at full)")
    p.add_argument("--n-critic", type=int, default=5)
    p.add_argument("--gp", type=float, default=10.0, help="λ of the gradient penalty")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--soft", action="store_true", help="let D see G's probabilities (the AAAI paper) instead of "
                   "notes binarised with a straight-through gradient (BinaryMuseGAN)")
    return p


def train_design(design: str, x: torch.Tensor, sizes: dict, settings, a, r: options.Run) -> dict:
    """One design's run in run_dir/<design>/; returns the metrics of its final samples."""
    import matplotlib.pyplot as plt

    run_dir = r.run_dir / design
    width = a.width or sizes["width"]
    critic_width = a.critic_width or (max(4, width // 2) if a.width else sizes["critic_width"])
    train.seed_everything(a.seed)
    G, D = (m.to(r.device) for m in build(design, width=width, critic_width=critic_width,
                                          straight_through=not a.soft))
    opt_G, opt_D = optimizers(G, D, a.lr)
    batches = data.Batches(x.to(r.device), batch_size=min(a.batch_size or sizes["batch_size"], len(x)), seed=a.seed)
    last = {}

    def step(group):
        return gan_zoo.zoo_step(G, D, opt_G, opt_D, iter(group), G.z_dim, d_loss=losses.d_loss_wgan,
                                g_loss=losses.g_loss_wgan, n_critic=a.n_critic, amp=r.amp,
                                penalty=lambda D, real, fake: a.gp * gradient_penalty(D, real, fake))

    def evaluate(done: int) -> dict:
        fake = mm.binarize(generate(G, sizes["n_eval"], seed=1))  # (n_eval, K, N, T, P)
        last.update(mm.summary(mm.evaluate(fake)))
        fig = music.plot_segments(fake[:8], [f"{design} #{i}" for i in range(8)], settings)
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)
        fig.savefig(run_dir / "samples" / f"step_{done:07d}.png", dpi=90)
        plt.close(fig)
        return {f"metric_{k}": v for k, v in last.items()}

    S = r.scale
    loop.fit(step, loop.Groups(batches, a.n_critic), steps=a.steps or sizes["steps"], models={"G": G, "D": D},
             optimizers={"G": opt_G, "D": opt_D}, run_dir=run_dir, log_every=S.log_every, ckpt_every=S.ckpt_every,
             evaluate=evaluate, eval_every=S.ckpt_every, extra={"design": design}, desc=design)
    if not last:  # resumed at the last step: nothing left to train, the final samples are still measured
        evaluate(a.steps or sizes["steps"])
    for i, seg in enumerate(mm.binarize(generate(G, 4, seed=2))):
        music.write_midi(seg, run_dir / "midi" / f"sample_{i}.mid", settings)
    return dict(last)


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    a = _parser().parse_args(argv)
    r = options.start(a, f"musegan-{options.use_scale(a.scale).name}")
    sizes, settings = default_sizes(r.scale), music.RollSettings()
    bach = music.load_bach(a.n_chorales or sizes["n_chorales"], r.scale.n_train, settings)
    x = bach["x"]  # (B, K, N, T, P)
    print(f"{len(bach['names'])} chorales, {len(x)} segments {tuple(x.shape[1:])}: {settings.describe()}")
    ranges = mm.data_range(x, bach["chorale"])
    rows = {"training data": mm.summary(mm.evaluate(x)),
            "random rolls": mm.summary(mm.evaluate(mm.random_rolls(sizes["n_eval"], x,
                                                                   torch.Generator().manual_seed(0))))}
    for design in DESIGNS if a.design == "all" else (a.design,):
        rows[design] = train_design(design, x, sizes, settings, a, r)
    print(mm.table(rows, ranges))
    result = {"rows": rows, "range": ranges, "within": {k: mm.within(v, ranges) for k, v in rows.items()}}
    (r.run_dir / "metrics.json").write_text(json.dumps(result, indent=1))
    print(f"run folder: {r.run_dir}")
    return 0
