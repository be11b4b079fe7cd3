"""`course train anogan`: the one-class protocol for every normal class of a dataset, three detectors each
(AnoGAN latent search, f-AnoGAN encoder, MAE reconstruction), AUROC per class and averaged. The GAN of each class
is chapter 02's, trained by `train.train_gan` on the one loop (resumable); the encoder and the MAE are the
notebook's short fits, saved once done."""

from __future__ import annotations

import time

import torch

from .. import data, train
from ..checkpoint import load_checkpoint, save_checkpoint
from ..models import anogan
from ..models.dcgan import build
from ..models.mae import small_mae
from ..runlog import RunLog
from . import options

DETECTORS = ("AnoGAN", "f-AnoGAN", "MAE")



def sizes(S) -> dict:
    """The DCGAN's default width at scale S (one place: the recipe and `course bench` read it)."""
    return {"width": S.width // 2}


def _parser():
    p = options.parser("anogan", __doc__.split("\n\n")[0], steps_help="the scale's image_steps, per class",
                       run_dir="anogan-DATASET")
    p.add_argument("--dataset", default="mnist", help="mnist (default), fashion-mnist or cifar10")
    p.add_argument("--normal", default="all", help="the normal class (0-9) or 'all' (default): one run per class")
    p.add_argument("--enc-steps", type=int, help="f-AnoGAN encoder steps (default: half the GAN steps)")
    p.add_argument("--mae-steps", type=int, help="MAE steps (default: half the GAN steps)")
    p.add_argument("--search-steps", type=int, default=None, help="latent-search steps (default: 500 as in AnoGAN, "
                   "capped at a fifth of the GAN steps)")
    p.add_argument("--lam", type=float, default=0.1, help="λ of the AnoGAN loss (default 0.1)")
    p.add_argument("--width", type=int, default=None, help="DCGAN base width (default: the scale's width / 2)")
    p.add_argument("--n-test", type=int, default=None, help="test images scored (default: the scale's n_eval)")
    return p


def _models(c: int, x_norm, info, a, r: options.Run, cdir):
    """Class c's DCGAN (on the loop, resumable), f-AnoGAN encoder and MAE (short fits, saved when done)."""
    S, device = r.scale, r.device
    steps = a.steps or S.image_steps
    width = a.width or sizes(S)["width"]
    G, D = (m.to(device) for m in build(z_dim=100, channels=info.channels, image_size=info.size, width=width))
    opt_G = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    batches = data.Batches(x_norm, batch_size=min(S.batch_size, len(x_norm)), seed=a.seed)
    train.train_gan(G, D, opt_G, opt_D, batches, steps=steps, z_dim=100, run_dir=cdir / "gan",
                    log_every=S.log_every, ckpt_every=S.ckpt_every, sample_every=S.ckpt_every,
                    desc=f"DCGAN normal={c}")
    E = anogan.Encoder(z_dim=100, channels=info.channels, image_size=info.size, width=width).to(device)
    mae = small_mae(S.width, img_size=info.size, in_chans=info.channels).to(device)
    enc_steps, mae_steps = a.enc_steps or steps // 2, a.mae_steps or steps // 2
    for name, model, n, fit in (
            ("encoder", E, enc_steps, lambda: anogan.train_encoder(E, G, D, batches, steps=enc_steps)),
            ("mae", mae, mae_steps, lambda: anogan.train_mae(mae, batches, steps=mae_steps, amp=r.amp))):
        ckpt = cdir / f"{name}.pt"
        if ckpt.exists():
            load_checkpoint(ckpt, models={name: model}, map_location=device, restore_rng=False)
        else:
            fit()
            save_checkpoint(ckpt, step=n, models={name: model})
        model.eval()
    return G, D, E, mae


def _scores(G, D, E, mae, splits: dict, search_steps: int, a) -> tuple[dict, float]:
    """Each detector's anomaly scores on each split, and the latent search's milliseconds per image."""
    scores, t0 = {}, time.perf_counter()
    for split, xs in splits.items():
        chunks = [anogan.latent_search(G, D, xs[i:i + 1024], steps=search_steps, lam=a.lam,
                                       generator=torch.Generator().manual_seed(a.seed))[1]
                  for i in range(0, len(xs), 1024)]
        scores[("AnoGAN", split)] = torch.cat(chunks).cpu()
    ms = 1000 * (time.perf_counter() - t0) / sum(len(xs) for xs in splits.values())
    for split, xs in splits.items():
        scores[("f-AnoGAN", split)] = anogan.izif_score(xs, G, D, E).cpu()
        scores[("MAE", split)] = anogan.mae_score(mae, xs).cpu()
    return scores, ms


def _report(results: dict, info, n_test: int, search_steps: int, run_dir) -> None:
    print(f"\none-class AUROC on {info.name} (test half of {n_test} test images; {search_steps} search steps)")
    print(f"{'class':>12}  {'AnoGAN':>8}  {'f-AnoGAN':>8}  {'MAE':>8}")
    for c, row in results.items():
        print(f"{info.classes[c]:>12}  " + "  ".join(f"{row[f'AUROC {d}']:8.3f}" for d in DETECTORS))
    means = {d: sum(r[f"AUROC {d}"] for r in results.values()) / len(results) for d in DETECTORS}
    print(f"{'mean':>12}  " + "  ".join(f"{means[d]:8.3f}" for d in means))
    print(f"metrics.jsonl, checkpoints and samples in {run_dir}")


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    info = data.DATASETS[data._canonical(a.dataset)]
    r = options.start(a, f"anogan-{info.name}", seed=False)
    S, device = r.scale, r.device
    search_steps = a.search_steps or max(2, min(500, (a.steps or S.image_steps) // 5))
    classes = range(len(info.classes)) if a.normal == "all" else [int(a.normal)]
    log = RunLog(r.run_dir / "metrics.jsonl")
    x_all, y_all = data.load_images(info.name, train=True, n=S.n_train)  # (N, C, H, W)
    x_test, y_test = data.load_images(info.name, train=False, n=a.n_test or S.n_eval)
    results = {}
    for c in classes:
        train.seed_everything(a.seed + c)
        x_val, a_val, x_te, a_te = anogan.one_class_split(x_test, y_test, c, seed=a.seed)
        G, D, E, mae = _models(c, x_all[y_all == c].to(device), info, a, r, r.run_dir / f"normal_{c}")
        scores, ms = _scores(G, D, E, mae, {"val": x_val.to(device), "test": x_te.to(device)}, search_steps, a)
        row = {"search_ms_per_image": ms}
        for det in DETECTORS:
            row[f"AUROC {det}"] = anogan.auroc(scores[(det, "test")], a_te)
            cm = anogan.confusion_matrix(scores[(det, "test")], a_te,
                                         anogan.choose_threshold(scores[(det, "val")], a_val))
            row[f"balanced acc {det}"] = 0.5 * (cm[0, 0] / cm[0].sum() + cm[1, 1] / cm[1].sum()).item()
        log.log(c, **row)
        results[c] = row
        print(f"normal class {c} ({info.classes[c]}): " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))
    _report(results, info, len(x_test), search_steps, r.run_dir)
    return 0
