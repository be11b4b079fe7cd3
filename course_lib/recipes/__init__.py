"""The `course train` recipes: one short module per recipe, each a `main(argv) -> int` on the one loop
(`course_lib.loop.fit`), with the options every recipe shares declared once (`options.py`).

`RECIPES` is a plain dict of imported functions, so a wrong name fails at import, not at run time. Recipes that
differ only in a few settings share a module (dcgan / sngan / wgan-gp in `gan`, mae / mae-finetune in `mae`,
vae / vae-gan in `vae`).
"""

from __future__ import annotations

from typing import Callable

from . import aae, anogan, classifier, gan, mae, musegan, pix2pix, sagan, seqgan, srgan, vae

RECIPES: dict[str, Callable[[list[str] | None], int]] = {
    "classifier": classifier.main,
    "dcgan": gan.dcgan,
    "sngan": gan.sngan,
    "wgan-gp": gan.wgan_gp,
    "vae": vae.vae,
    "vae-gan": vae.vae_gan,
    "aae": aae.main,
    "mae": mae.pretrain,
    "mae-finetune": mae.finetune,
    "sagan": sagan.main,
    "pix2pix": pix2pix.main,
    "srgan": srgan.main,
    "musegan": musegan.main,
    "anogan": anogan.main,
    "seqgan": seqgan.main,
}
