"""`course train vae` and `course train vae-gan`: the notebook's two steps (`vae_step`, `vaegan_step`) on the one
loop, on the same encoder / decoder, scored alike (FD / KID with the course classifier, sharpness). One module,
since the two recipes differ only in their step and optimizers."""

from __future__ import annotations

import torch

from .. import data, features, loop
from ..models.vae import Generator, build, elbo, generate, optimizers, sharpness, vae_step, vaegan_step
from . import options



def sizes(S) -> dict:
    """The default conv width at scale S (one place: the recipe and `course bench` read it)."""
    return {"width": S.width // 4}


def _parser(kind: str):
    p = options.parser(kind, __doc__.split("\n\n")[0], run_dir=f"{kind}-DATASET")
    p.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist, cifar10")
    p.add_argument("--z-dim", type=int, default=16)
    p.add_argument("--width", type=int, default=None, help="base channels of the conv nets (default: scale width / 4)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the scale's")
    p.add_argument("--n-train", type=int, default=None, help="default: the scale's")
    p.add_argument("--n-eval", type=int, default=None, help="default: the scale's")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--log-every", type=int, default=None, help="default: the scale's")
    p.add_argument("--ckpt-every", type=int, default=None, help="default: the scale's")
    if kind == "vae-gan":
        p.add_argument("--gamma", type=float, default=1.0, help="weight of L_llike in the decoder's loss")
    p.add_argument("--lr", type=float, default=2e-4 if kind == "vae-gan" else 1e-3)
    return p


def _step(kind: str, E, Dec, D, G, a, amp):
    """The recipe's step and the models and optimizers it updates."""
    if kind == "vae":
        opts = {"VAE": torch.optim.Adam([*E.parameters(), *Dec.parameters()], lr=a.lr)}
        return (lambda xb: vae_step(E, Dec, xb, opts["VAE"], a.beta, amp)), {"E": E, "Dec": Dec}, opts
    opts = optimizers(E, G, D, lr=a.lr)
    return ((lambda xb: vaegan_step(E, G, D, opts, xb, gamma=a.gamma, beta=a.beta, amp=amp)),
            {"E": E, "Dec": Dec, "D": D}, opts)


def run(kind: str, argv: list[str] | None) -> int:
    a = _parser(kind).parse_args(argv)
    r = options.start(a, f"{kind}-{a.dataset}")
    S, device = r.scale, r.device
    x, _ = data.load_images(a.dataset, train=True, n=a.n_train or S.n_train)  # (N, C, H, W)
    E, Dec, D = (m.to(device) for m in build(channels=x.shape[1], size=x.shape[2], z_dim=a.z_dim,
                                             width=a.width or sizes(S)["width"]))
    G = Generator(Dec)
    step, models, opts = _step(kind, E, Dec, D, G, a, r.amp)
    batches = data.Batches(x.to(device), batch_size=a.batch_size or S.batch_size, seed=a.seed)
    steps, ckpt_every = a.steps or S.image_steps, a.ckpt_every or S.ckpt_every

    def samples(path):
        import torchvision

        path.parent.mkdir(parents=True, exist_ok=True)
        torchvision.utils.save_image(data.to_unit(generate(G, 64, a.z_dim, seed=1)), path, nrow=8)

    log = loop.fit(step, batches, steps=steps, models=models, optimizers=opts, device=device, run_dir=r.run_dir,
                   log_every=a.log_every or S.log_every, ckpt_every=ckpt_every, sample=samples,
                   sample_every=ckpt_every, desc=kind)
    x_test, _ = data.load_images(a.dataset, train=False, n=a.n_eval or S.n_eval)
    net = features.course_classifier(a.dataset, device=device)
    fake = generate(G, len(x_test), a.z_dim, seed=0)
    scores = features.score(net, features.extract_features(net, x_test), features.extract_features(net, fake),
                            what=f"{kind} samples")
    results = {"fd": scores["fd"], "kid": scores["kid"], "sharpness": sharpness(fake),
               "sharpness_real": sharpness(x_test)}
    if kind == "vae":
        results |= {f"test_{k}": v for k, v in elbo(E, Dec, x_test).items()}
    log.log(steps, **results)
    for k, v in results.items():
        print(f"{k}: {v:.4f}")
    print(f"({features.fd_name(net)} / {features.kid_name(net)}, {len(x_test)} test images; run folder {r.run_dir})")
    return 0


def vae(argv: list[str] | None = None) -> int:
    return run("vae", argv)


def vae_gan(argv: list[str] | None = None) -> int:
    return run("vae-gan", argv)
