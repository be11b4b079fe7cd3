"""`course train srgan`: pretrain SRResNet with MSE, then fine-tune it as SRGAN, two phases of the one loop
(each its own checkpoint folder, so a run resumes inside either); PSNR / SSIM (Y, border cropped) on Set5 and
Set14 after each phase."""

from __future__ import annotations

import torch

from .. import data, loop, sr_data
from ..models.srgan import Discriminator, SRResNet, evaluate, perceptual_network, pretrain_step, srgan_step, \
    super_resolve
from ..runlog import RunLog
from . import options

MAX_CROPS = 10_000  # default crops held in memory at once (a CPU run at full stays within a few GB)



def sizes(S, width: int | None = None, blocks: int | None = None) -> dict:
    """SRResNet's width and residual blocks and D's width: defaults from scale S, or from a given width (one
    place: the recipe and `course bench` read them)."""
    width = width or S.width // 4
    return {"width": width, "blocks": blocks or max(1, width // 4), "d_width": max(8, width // 2)}


def _parser():
    p = options.parser("srgan", __doc__.split("\n\n")[0], steps_help="SRResNet steps: the scale's image_steps")
    p.add_argument("--train-dir", default="bsd68", help="bsd68 (default), or a folder of HR images (DIV2K)")
    p.add_argument("--eval", default="set5,set14", help="comma-separated evaluation sets (default set5,set14)")
    p.add_argument("--patch", type=int, default=96, help="HR crop side (default 96, as in the paper)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--width", type=int, default=None, help="G's channels (default: the scale's width / 4; paper 64)")
    p.add_argument("--blocks", type=int, default=None, help="residual blocks (default: width / 4; paper 16)")
    p.add_argument("--gan-steps", type=int, default=None, help="SRGAN steps (default: half the SRResNet steps)")
    p.add_argument("--w-mse", type=float, default=0.1, help="weight of the MSE term in SRGAN (default 0.1)")
    p.add_argument("--n-crops", type=int, default=None, help="crops drawn from the pool (default: the scale's "
                   f"n_train, at most {MAX_CROPS:,}: a 96x96 crop holds 110 KB in float32, 50,000 would hold 5.5 GB)")
    return p


def _evaluator(G, evals: dict, log: RunLog, r: options.Run):
    def evaluate_now(stage: str, step: int) -> None:
        methods = {"bicubic": lambda lr: sr_data.upsample_bicubic(lr, 4),
                   stage: lambda lr: super_resolve(G, lr, r.amp)}
        row = {}
        for name, images in evals.items():
            for m, res in evaluate(methods, images, 4, device=r.device).items():
                row[f"{name} {m} PSNR-Y"] = res["psnr"].mean().item()
                row[f"{name} {m} SSIM-Y"] = res["ssim"].mean().item()
        log.log(step, **row)
        for k, v in row.items():
            print(f"{k} (4x, border 4 cropped): {v:.4f}")
    return evaluate_now


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    r = options.start(a, "srgan")
    S, device = r.scale, r.device
    size = sizes(S, a.width, a.blocks)
    pre_steps = a.steps or S.image_steps
    gan_steps = a.gan_steps or max(1, pre_steps // 2)
    n_crops = a.n_crops or min(S.n_train or MAX_CROPS, MAX_CROPS)
    pool = sr_data.load_hr_images(a.train_dir)
    crops = sr_data.random_crops(pool, n_crops, a.patch, seed=a.seed).to(device)  # (N, 3, P, P)
    evaluate_now = _evaluator(G := SRResNet(width=size["width"], n_blocks=size["blocks"]).to(device),
                              {name: sr_data.load_hr_images(name) for name in a.eval.split(",") if name},
                              RunLog(r.run_dir / "metrics.jsonl"), r)
    D = Discriminator(width=size["d_width"]).to(device)
    batches = data.Batches(crops, batch_size=min(a.batch_size, len(crops)), seed=a.seed)
    hr4 = crops[:4]  # (4, 3, P, P): the sample grids' crops

    def grid(path):
        import torchvision

        lr4 = sr_data.downsample(hr4, 4)
        images = torch.cat([sr_data.upsample_bicubic(lr4, 4), super_resolve(G, lr4, r.amp), hr4])  # (12, 3, P, P)
        path.parent.mkdir(parents=True, exist_ok=True)
        torchvision.utils.save_image(data.to_unit(images.float()), path, nrow=4)

    common = dict(log_every=S.log_every, ckpt_every=S.ckpt_every, sample=grid, sample_every=S.ckpt_every)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-4)
    loop.fit(lambda hr: pretrain_step(G, opt_G, sr_data.downsample(hr, 4), hr, r.amp), batches, steps=pre_steps,
             models={"G": G}, optimizers={"G": opt_G}, run_dir=r.run_dir / "srresnet", desc="srresnet", **common)
    evaluate_now("SRResNet", pre_steps)
    phi_crops = sr_data.random_crops(pool, min(n_crops, 20_000), min(a.patch, 64), seed=a.seed + 1,
                                     augment=False).to(device)
    phi = perceptual_network(phi_crops, steps=min(pre_steps, 5_000), device=device)
    opt_G2, opt_D = torch.optim.Adam(G.parameters(), lr=1e-4), torch.optim.Adam(D.parameters(), lr=1e-4)

    def gan_step(hr):
        return srgan_step(G, D, phi, opt_G2, opt_D, sr_data.downsample(hr, 4), hr, w_mse=a.w_mse, amp=r.amp)

    loop.fit(gan_step, batches, steps=gan_steps, models={"G": G, "D": D}, optimizers={"G": opt_G2, "D": opt_D},
             run_dir=r.run_dir / "srgan", desc="srgan", **common)
    print(f"SRGAN perceptual features: {phi.label}")
    evaluate_now("SRGAN", pre_steps + gan_steps)
    print(f"metrics.jsonl, checkpoints and samples in {r.run_dir}")
    return 0
