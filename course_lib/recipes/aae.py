"""`course train aae`: the notebook's (adversarial) autoencoder step on the one loop."""

from __future__ import annotations

import torch

from .. import data, loop
from ..models.aae import (aae_step, build, decode, encode, energy_distance, knn_accuracy, optimizers,
                          reconstruction_error, reconstruction_phase)
from ..priors import PRIORS, get_prior
from . import options



def sizes(S) -> dict:
    """The default hidden width and batch at scale S (one place: the recipe and `course bench` read them)."""
    return {"hidden": 4 * S.width, "batch": 2 * S.batch_size}


def _parser():
    p = options.parser("aae", "Train an (adversarial) autoencoder.", steps_help="twice the scale's image_steps",
                       run_dir="aae-DATASET-PRIOR[-supervised]")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--prior", default="mixture", choices=[*PRIORS, "none"], help="'none': a plain autoencoder")
    p.add_argument("--supervised", action="store_true",
                   help="label-aware D, label-conditioned prior (paper §2.3, Fig. 4)")
    p.add_argument("--z-dim", type=int, default=2)
    p.add_argument("--hidden", type=int, default=None, help="default: 4 x the scale's width")
    p.add_argument("--batch-size", type=int, default=None, help="default: twice the scale's batch size")
    p.add_argument("--n-train", type=int, default=None, help="default: the scale's n_train")
    p.add_argument("--log-every", type=int, default=None, help="default: the scale's")
    p.add_argument("--ckpt-every", type=int, default=None, help="default: the scale's")
    return p


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    a = p.parse_args(argv)
    if a.supervised and a.prior in ("gaussian", "none"):
        p.error("--supervised needs a prior with components: mixture or swiss-roll")
    prior = None if a.prior == "none" else get_prior(a.prior)
    if prior is not None and a.z_dim != prior.dim:
        p.error(f"the {a.prior} prior is {prior.dim}-D; use --z-dim {prior.dim}")
    r = options.start(a, f"aae-{a.dataset}-{a.prior}{'-supervised' if a.supervised else ''}")
    S, device = r.scale, r.device
    steps, ckpt_every = a.steps or 2 * S.image_steps, a.ckpt_every or S.ckpt_every
    x, y = data.load_images(a.dataset, train=True, n=a.n_train or S.n_train)
    x_test, y_test = data.load_images(a.dataset, train=False, n=S.n_eval)
    n_classes = prior.n_classes if a.supervised else 0
    E, Dec, D = (m.to(device) for m in build(in_shape=tuple(x.shape[1:]), z_dim=a.z_dim,
                                             hidden=a.hidden or sizes(S)["hidden"], n_classes=n_classes))
    opts = optimizers(E, Dec, D)
    batches = data.Batches(x.to(device), y.to(device), batch_size=a.batch_size or sizes(S)["batch"], seed=a.seed)

    def step(batch):
        xb, yb = batch
        if prior is None:
            return reconstruction_phase(E, Dec, xb, opts["AE"], r.amp)
        return aae_step(E, Dec, D, opts, xb, prior, yb if a.supervised else None, r.amp)

    def samples(path):
        import torchvision

        path.parent.mkdir(parents=True, exist_ok=True)
        z = prior.sample(64, torch.Generator().manual_seed(1)) if prior is not None else torch.randn(64, a.z_dim)
        torchvision.utils.save_image(data.to_unit(decode(Dec, z)), path, nrow=8)

    log = loop.fit(step, batches, steps=steps, models={"E": E, "Dec": Dec, "D": D}, optimizers=opts,
                   device=device, run_dir=r.run_dir, log_every=a.log_every or S.log_every, ckpt_every=ckpt_every,
                   sample=samples, sample_every=ckpt_every, desc=f"AAE ({a.prior})")
    z_test, z_train = encode(E, x_test), encode(E, x[:len(x_test) * 5])
    ref = prior if prior is not None else get_prior("gaussian")
    results = {"recon_mse": reconstruction_error(E, Dec, x_test),
               "energy_distance": energy_distance(z_test, ref.sample(len(z_test), torch.Generator().manual_seed(0))),
               "knn_accuracy": knn_accuracy(z_train, y[:len(z_train)], z_test, y_test)}
    log.log(steps, **results)
    for k, v in results.items():
        print(f"{k} (test set, {a.dataset}): {v:.4f}")
    print(f"run folder: {r.run_dir}")
    return 0
