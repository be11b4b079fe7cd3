"""SRResNet and SRGAN (Ledig et al., CVPR 2017): 4x single-image super-resolution.

    G = SRResNet: a 9x9 convolution, B residual blocks (conv-BN-PReLU-conv-BN + skip), a long skip around them,
        then log2(scale) sub-pixel upsamplings (a convolution to 4x the channels + PixelShuffle(2): x2 each), and
        a 9x9 convolution to RGB. `bicubic_skip=True` adds the bicubic upsampling of the input to the output, so
        G learns only the missing detail (as VDSR does); it trains much faster on a CPU and changes no loss.
    D = SRGAN's discriminator: eight 3x3 convolutions (stride 2 every other one, 64 -> 512 channels, BN, LeakyReLU
        0.2), then a dense layer of 1024 and one logit. Global average pooling before the dense layers makes D
        accept any crop size (the paper flattens the 6x6 map of a 96x96 crop).

Losses (every one a scalar the player minimises):
    content   MSE in pixel space -> SRResNet (high PSNR, smooth)
    perceptual MSE between feature maps φ(G(LR)) and φ(HR) of a fixed network (VGG-19's relu5_4 in the paper)
    adversarial -log D(G(LR)) (non-saturating), weighted 1e-3

Dimension key: B batch, C channels (3), h/w low-resolution side, H/W = scale·h high-resolution side, c width.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses, train
from ..sr_data import upsample_bicubic

# ----------------------------------------------------------------------------------------------------------
# Generator: SRResNet
# ----------------------------------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """x + BN(conv(PReLU(BN(conv(x))))): the block of SRResNet (He et al.'s, without the ReLU after the sum)."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.PReLU(c),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)  # (B, c, h, w)


def icnr_(conv: nn.Conv2d, r: int = 2) -> nn.Conv2d:
    """ICNR initialisation (Aitken et al. 2017) of a convolution feeding PixelShuffle(r), in place.

    PixelShuffle takes output channel c·r² + i·r + j to the pixel offset (i, j) of channel c. With r² independent
    random filters per c, the r² offsets start out different, and the network sees a checkerboard it must first
    unlearn (the sub-pixel convolution equals a stride-r transposed convolution; equal overlap removes only one
    cause of its checkerboard). ICNR gives the r² filters of each c the same initial values, so at
    initialisation conv + PixelShuffle equals a convolution followed by nearest-neighbour upsampling."""
    cout, cin, k, _ = conv.weight.shape
    base = nn.Conv2d(cin, cout // r ** 2, k)  # PyTorch's default initialisation, for the c filters
    with torch.no_grad():
        conv.weight.copy_(base.weight.repeat_interleave(r * r, dim=0))  # (c·r², cin, k, k)
        if conv.bias is not None:
            conv.bias.copy_(base.bias.repeat_interleave(r * r))
    return conv


class UpsampleBlock(nn.Module):
    """Sub-pixel convolution (Shi et al. 2016): conv to 4c channels at the low resolution, then PixelShuffle(2)
    rearranges (B, 4c, h, w) -> (B, c, 2h, 2w). Every output pixel gets the same number of taps (no uneven
    overlap), but its four sub-filters can still disagree and checkerboard: `icnr` (default) starts them equal."""

    def __init__(self, c: int, *, icnr: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(c, 4 * c, 3, 1, 1)
        if icnr:
            icnr_(self.conv, 2)
        self.shuffle = nn.PixelShuffle(2)
        self.act = nn.PReLU(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # (B, 4c, h, w)
        x = self.shuffle(x)  # (B, c, 2h, 2w)
        return self.act(x)


class SRResNet(nn.Module):
    """LR (B, C, h, w) in [-1, 1] -> SR (B, C, scale·h, scale·w)."""

    def __init__(self, *, channels: int = 3, width: int = 64, n_blocks: int = 16, scale: int = 4,
                 bicubic_skip: bool = True, icnr: bool = True):
        super().__init__()
        if scale & (scale - 1) or scale < 2:
            raise ValueError(f"scale must be a power of 2, got {scale}")
        self.scale, self.bicubic_skip = scale, bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, 1, 4), nn.PReLU(width))
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(n_blocks)])
        self.post = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))
        self.up = nn.Sequential(*[UpsampleBlock(width, icnr=icnr) for _ in range(int(math.log2(scale)))])
        self.tail = nn.Conv2d(width, channels, 9, 1, 4)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        h = self.head(lr)  # (B, c, h, w)
        h = h + self.post(self.blocks(h))  # (B, c, h, w): the long skip around the residual blocks
        out = self.tail(self.up(h))  # (B, C, H, W)
        if self.bicubic_skip:
            out = out + upsample_bicubic(lr, self.scale)  # (B, C, H, W)
        return out


# ----------------------------------------------------------------------------------------------------------
# Discriminator
# ----------------------------------------------------------------------------------------------------------


class Discriminator(nn.Module):
    """HR image (B, C, H, W) -> one logit (B, 1)."""

    def __init__(self, *, channels: int = 3, width: int = 64):
        super().__init__()
        c = width
        layers: list[nn.Module] = [nn.Conv2d(channels, c, 3, 1, 1), nn.LeakyReLU(0.2, True),
                                   nn.Conv2d(c, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
        for mult in (2, 4, 8):  # (B, 2c, H/2) -> ... -> (B, 8c, H/16)
            layers += [nn.Conv2d(c, width * mult, 3, 1, 1, bias=False), nn.BatchNorm2d(width * mult),
                       nn.LeakyReLU(0.2, True)]
            c = width * mult
            layers += [nn.Conv2d(c, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, 8c)
                   nn.Linear(c, 16 * width), nn.LeakyReLU(0.2, True), nn.Linear(16 * width, 1)]  # (B, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1)


# ----------------------------------------------------------------------------------------------------------
# Feature networks for the perceptual loss
# ----------------------------------------------------------------------------------------------------------


class VGGFeatures(nn.Module):
    """VGG-19 up to relu5_4 (the paper's φ_5,4), frozen; input in [-1, 1], ImageNet-normalised inside."""

    label = "VGG-19 relu5_4"

    def __init__(self, weights_path):
        super().__init__()
        import torchvision

        vgg = torchvision.models.vgg19()
        vgg.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        self.body = vgg.features[:36].eval().requires_grad_(False)  # up to relu5_4
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(((x + 1) / 2 - self.mean) / self.std)  # (B, 512, H/16, W/16)


class RotationNet(nn.Module):
    """A small CNN the course trains to predict by how much an image crop was rotated (0, 90, 180, 270 degrees;
    Gidaris et al. 2018). Solving it needs edges, textures and object orientation, so its feature maps are a
    usable perceptual space when no VGG weights are available. `forward` returns the feature map."""

    label = "course rotation network"

    def __init__(self, *, channels: int = 3, width: int = 16):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, w, H/2, W/2)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 2w, H/4, W/4)
            nn.Conv2d(2 * w, 4 * w, 3, 1, 1), nn.LeakyReLU(0.2))  # (B, 4w, H/4, W/4)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, 4))  # (B, 4)
        self.rotation_accuracy = float("nan")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (B, 4w, H/4, W/4)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (B, 4)


def rotations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The four rotations of a batch and their labels: (4B, C, H, W), (4B,) with label k = k quarter turns."""
    xs = torch.cat([torch.rot90(x, k, dims=(-2, -1)) for k in range(4)])  # (4B, C, H, W)
    return xs, torch.arange(4, device=x.device).repeat_interleave(len(x))  # (4B,)


def train_rotation_net(crops: torch.Tensor, *, steps: int, batch_size: int = 32, width: int = 16,
                       seed: int = 0, progress: bool = True) -> RotationNet:
    """Train a RotationNet on HR crops (N, C, S, S); its accuracy on the last 10 % (held out) is stored."""
    from tqdm.auto import tqdm

    from ..data import Batches

    n_hold = max(1, len(crops) // 10)
    train_x, hold_x = crops[:-n_hold], crops[-n_hold:]
    batches = Batches(train_x, batch_size=min(batch_size, len(train_x)), seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = RotationNet(channels=crops.shape[1], width=width).to(crops.device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in tqdm(range(steps), desc="rotation network", disable=not progress, mininterval=1.0, leave=False):
        xs, k = rotations(next(batches))
        train.update(opt, F.cross_entropy(net.logits(xs), k))
    with torch.no_grad():
        xs, k = rotations(hold_x)
        net.rotation_accuracy = (net.logits(xs).argmax(1) == k).float().mean().item()
    return net.eval().requires_grad_(False)


def perceptual_network(crops: torch.Tensor, *, steps: int, device=None, verbose: bool = True) -> nn.Module:
    """VGG-19 relu5_4 when its weights are present (data.find_weights('vgg19')); otherwise a RotationNet trained
    on the training crops and cached under <runs dir>/features/. The module's `label` names it; print it."""
    from .. import data
    from ..checkpoint import load_checkpoint, save_checkpoint

    device = torch.device(device) if device is not None else crops.device
    path = data.find_weights("vgg19")
    if path is not None:
        net = VGGFeatures(path).to(device)
        if verbose:
            print(f"perceptual features: {net.label} ({path})")
        return net
    cache = data.runs_dir() / "features" / f"sr-rotation-{len(crops)}crops-{crops.shape[-1]}px-steps{steps}.pt"
    if cache.exists():
        with torch.random.fork_rng(devices=[]):
            net = RotationNet(channels=crops.shape[1])
        state = load_checkpoint(cache, models={"net": net}, restore_rng=False)
        net.rotation_accuracy = float(state["extra"]["rotation_accuracy"])
        net = net.to(device).eval().requires_grad_(False)
    else:
        net = train_rotation_net(crops.to(device), steps=steps)
        save_checkpoint(cache, step=steps, models={"net": net}, extra={"rotation_accuracy": net.rotation_accuracy})
    if verbose:
        print(f"perceptual features: {net.label} (VGG-19 weights absent), trained {steps} steps on the training "
              f"crops, held-out rotation accuracy {100 * net.rotation_accuracy:.1f}% (chance 25%)")
    return net


# ----------------------------------------------------------------------------------------------------------
# Losses and the two steps
# ----------------------------------------------------------------------------------------------------------


def content_loss(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """Pixel-wise MSE: l_MSE = 1/(r²WH) Σ (I_HR - G(I_LR))²  (Ledig et al. eq. 4)."""
    return (sr - hr).square().mean()


def relative_perceptual_loss(phi: nn.Module, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """Feature-space MSE, l_φ = 1/(W_φ H_φ) Σ (φ(I_HR) - φ(G(I_LR)))²  (Ledig et al. eq. 5), *relative*: divided
    by the mean energy of the target features so that its weight means the same for any feature network (the
    paper scales its VGG loss by 1/12.75² ≈ 0.006 for the same reason)."""
    with torch.no_grad():
        target = phi(hr)  # (B, F, H_φ, W_φ)
    return (phi(sr) - target).square().mean() / target.square().mean().clamp_min(1e-8)


def pretrain_step(G: nn.Module, opt_G, lr: torch.Tensor, hr: torch.Tensor, amp=contextlib.nullcontext) -> dict:
    """SRResNet: minimise the content (MSE) loss alone."""
    with amp():
        loss = content_loss(G(lr).float(), hr)
    train.update(opt_G, loss)
    return {"mse": loss.detach()}


def srgan_step(G: nn.Module, D: nn.Module, phi: nn.Module, opt_G, opt_D, lr: torch.Tensor, hr: torch.Tensor, *,
               w_mse: float = 1.0, w_perc: float = 1.0, w_adv: float = 1e-3, amp=contextlib.nullcontext) -> dict:
    """One SRGAN step. D: minimise -log D(HR) - log(1 - D(G(LR))) on a detached G(LR). G, through the updated,
    frozen D:

        l_G = w_mse · l_MSE + w_perc · l_φ + w_adv · (-log D(G(LR)))      (the adversarial term non-saturating)
    """
    with amp():
        sr = G(lr)  # (B, C, H, W)
    loss_D = train.d_step(D, hr, sr, opt_D, amp=amp)["loss_D"]  # D sees sr.detach(): this step moves D only
    with amp(), train.frozen(D):  # gradients reach G through D; D's weights get none
        fake_logits = D(sr)  # (B, 1)
        mse = content_loss(sr.float(), hr)
        perc = relative_perceptual_loss(phi, sr, hr).float()
        adv = losses.g_loss_nonsaturating(fake_logits.float())
        loss_G = w_mse * mse + w_perc * perc + w_adv * adv
    train.update(opt_G, loss_G)
    return {"loss_D": loss_D, "loss_G": loss_G.detach(), "mse": mse.detach(), "perc": perc.detach(),
            "adv": adv.detach()}


# ----------------------------------------------------------------------------------------------------------
# Evaluation on whole images
# ----------------------------------------------------------------------------------------------------------


@torch.no_grad()
def super_resolve(G: nn.Module, lr: torch.Tensor, amp=contextlib.nullcontext) -> torch.Tensor:
    """G(LR) in eval mode, clamped to [-1, 1]: (B, C, h, w) -> (B, C, H, W)."""
    was = G.training
    G.eval()
    with amp():
        out = G(lr).float().clamp(-1, 1)
    G.train(was)
    return out


@torch.no_grad()
def evaluate(methods: dict, hr_images: list[torch.Tensor], scale: int = 4, device=None) -> dict[str, dict]:
    """PSNR / SSIM on the Y channel, `scale` pixels cropped at the border, for every method on every image.

    `methods` maps a name to a function LR (1, C, h, w) -> SR (1, C, H, W). Images differ in size, so they are
    processed one at a time. Returns {name: {"psnr": (N,), "ssim": (N,)}}."""
    from ..data import to_unit
    from ..image_metrics import sr_quality
    from ..sr_data import downsample, modcrop

    out = {name: {"psnr": [], "ssim": []} for name in methods}
    for img in hr_images:
        hr = modcrop(img, scale)[None]  # (1, C, H, W)
        hr = hr.to(device) if device is not None else hr
        lr = downsample(hr, scale)  # (1, C, h, w)
        for name, fn in methods.items():
            p, s = sr_quality(to_unit(fn(lr).float()), to_unit(hr), border=scale)
            out[name]["psnr"].append(p.item()), out[name]["ssim"].append(s.item())
    return {k: {m: torch.tensor(v) for m, v in d.items()} for k, d in out.items()}
