#!/usr/bin/env python3
"""Training, evaluation and export for vaec-gpu's model.

One file, four subcommands:

    python train/vaec_train.py train   --minutes 60          # resumes from weights/ or train/runs/last.pt
    python train/vaec_train.py eval    --kodak ../shared/data/kodak
    python train/vaec_train.py export  --out weights/vaec-hyperprior.safetensors
    python train/vaec_train.py reference IMAGE --out DIR     # PyTorch forward pass for the Rust engine to match

The model is CompressAI's ScaleHyperprior (Balle et al. 2018) with CompressAI's layer names, plus
per-channel gain vectors on y (Cui et al. 2021): one model covers the whole rate range, one gain
vector per training lambda, and geometric interpolation between neighbours gives a continuous
quality knob. Training data comes from ../shared/data/train only (never Kodak).
"""
import argparse
import csv
import glob
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import GDN
from compressai.models.utils import conv, deconv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "..", "shared", "data")
RUNS = os.path.join(HERE, "runs")
WEIGHTS = os.path.join(ROOT, "weights", "vaec-hyperprior.safetensors")
LOG = os.path.join(HERE, "log.csv")
# The repository's sample image (examples/data/seeding.png) is cut from this photo: never train on it.
EXCLUDE = {"lomiri_seeding_by_Clements_Engelhardt.jpg"}

# Training lambdas, quality 1..10: quality q of vaec-gpu is gain vector q-1. Qualities 3..10 are
# CompressAI's lambdas for its MSE models; 1 and 2 continue the series (x1/1.94 each) down to
# about 0.1 bpp on Kodak, where CompressAI's lowest lambda leaves this smaller model at 0.2 bpp.
LAMBDAS = [0.00048, 0.00093, 0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800]
# CompressAI's Gaussian scale table: 64 log-spaced scales from 0.11 to 256.
SCALES_MIN, SCALES_MAX, SCALES_LEVELS = 0.11, 256.0, 64


def scale_table():
    return torch.exp(torch.linspace(math.log(SCALES_MIN), math.log(SCALES_MAX), SCALES_LEVELS))


def scale_boundaries(table):
    """Where the scale index steps up: the geometric midpoints between neighbouring table scales.

    CompressAI's build_indexes rounds a scale up to the next table entry, which costs 2-4% of
    the bits of y on Kodak with this table (ratio 1.13 between entries); rounding to the nearest
    entry in log space costs under 0.1%. The integer h_s compares against these boundaries.
    """
    table = table.double()
    return torch.sqrt(table[:-1] * table[1:])


def scale_indexes(model, scales):
    """Float twin of the integer h_s's last step: index of the table scale nearest to each scale."""
    gc = model.gaussian_conditional
    bounds = scale_boundaries(gc.scale_table).to(scales.dtype)
    return (gc.lower_bound_scale(scales).unsqueeze(-1) > bounds).sum(-1)


class GainedHyperprior(nn.Module):
    """CompressAI ScaleHyperprior (same module names) with per-lambda gain vectors on y."""

    def __init__(self, N, M, levels=len(LAMBDAS)):
        super().__init__()
        self.N, self.M = N, M
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.g_a = nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, N), GDN(N), conv(N, M))
        self.g_s = nn.Sequential(
            deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
            deconv(N, N), GDN(N, inverse=True), deconv(N, 3))
        self.h_a = nn.Sequential(
            conv(M, N, stride=1, kernel_size=3), nn.ReLU(inplace=True),
            conv(N, N), nn.ReLU(inplace=True), conv(N, N))
        self.h_s = nn.Sequential(
            deconv(N, N), nn.ReLU(inplace=True), deconv(N, N), nn.ReLU(inplace=True),
            conv(N, M, stride=1, kernel_size=3), nn.ReLU(inplace=True))
        self.gaussian_conditional = GaussianConditional(None)
        # Gains are stored as logs so that they stay positive; the export writes exp().
        # Start from quantization steps that halve every two levels (lambda doubles per level).
        spread = torch.linspace(-0.175 * (levels - 1), 0.175 * (levels - 1), levels)[:, None].repeat(1, M)
        self.y_gain_log = nn.Parameter(spread.clone())
        self.y_inv_gain_log = nn.Parameter(-spread.clone())

    def add_low_levels(self, n):
        """Prepends n gain levels below the lowest, extrapolated in log space from the two lowest
        (how the 8-level model grew the two qualities under CompressAI's lambdas)."""
        with torch.no_grad():
            for name in ("y_gain_log", "y_inv_gain_log"):
                g = getattr(self, name)
                step = g[0] - g[1]
                low = torch.stack([g[0] + k * step for k in range(n, 0, -1)])
                setattr(self, name, nn.Parameter(torch.cat([low, g])))

    def gains(self, q):
        """Gain and inverse gain for a (possibly fractional) quality index q in [0, levels-1]."""
        lo = int(math.floor(q))
        hi = min(lo + 1, self.y_gain_log.shape[0] - 1)
        t = q - lo
        g = (1 - t) * self.y_gain_log[lo] + t * self.y_gain_log[hi]
        ig = (1 - t) * self.y_inv_gain_log[lo] + t * self.y_inv_gain_log[hi]
        return torch.exp(g).view(1, -1, 1, 1), torch.exp(ig).view(1, -1, 1, 1)

    # Training options (cmd_train sets them; evaluation, export and the reference keep the defaults).
    # bf16: the four transforms run under bfloat16 autocast (1.75x faster steps on a Zen 4 CPU);
    # quantization and likelihoods stay in float32.
    bf16 = False
    # round_decoder: g_s sees round(y) with a straight-through gradient, as at decode time, while
    # the rate still comes from the noisy y (Minnen & Singh 2020); False: g_s sees the noisy y.
    round_decoder = False

    def _transform(self, net, x):
        if not self.bf16:
            return net(x)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return net(x).float()

    def forward(self, x, q):
        gain, inv_gain = self.gains(q)
        y = self._transform(self.g_a, x) * gain
        z = self._transform(self.h_a, torch.abs(y))
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        scales_hat = self._transform(self.h_s, z_hat)
        y_hat, y_likelihoods = self.gaussian_conditional(y, scales_hat)
        if self.training and self.round_decoder:
            y_hat = y + (torch.round(y) - y).detach()
        x_hat = self._transform(self.g_s, y_hat * inv_gain)
        return x_hat, y_likelihoods, z_likelihoods

    def aux_loss(self):
        return self.entropy_bottleneck.loss()

    @torch.no_grad()
    def update_tables(self):
        self.gaussian_conditional.update_scale_table(scale_table(), force=True)
        self.entropy_bottleneck.update(force=True)


def pad64(x):
    """Replicate-pad an NCHW tensor to a multiple of 64 (what the Rust engine does)."""
    h, w = x.shape[2], x.shape[3]
    ph, pw = (-h) % 64, (-w) % 64
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if (ph or pw) else x


# ---------------------------------------------------------------- data

def training_images(max_side=1600, folder=None):
    """The training photos as uint8 HxWx3 arrays; large JPEGs downscaled with an area filter.

    folder defaults to ../shared/data/train; another folder (a copy carried to a GPU machine, say)
    is read the same way."""
    folder = folder or os.path.join(DATA, "train")
    paths = []
    for ext in ("*.jpg", "*.jpeg", "*.png"):
        paths += glob.glob(os.path.join(folder, "**", ext), recursive=True)
    paths = sorted(p for p in paths if "kodak" not in p.lower() and os.path.basename(p) not in EXCLUDE)
    images = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        factor = 1
        while max(im.size) / factor > max_side:
            factor *= 2
        if "debian" in p and factor == 1 and max(im.size) > 1200:
            factor = 2  # the wallpapers carry JPEG artefacts at full size
        if factor > 1:
            im = im.reduce(factor)
        images.append(np.asarray(im))
    return paths, images


def smoke_images():
    """Smooth random pictures for CI smoke runs (no photos needed)."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    return [np.asarray(Image.fromarray(s).resize((320, 320), Image.BILINEAR)) for s in small]


class CropSampler:
    def __init__(self, images, crop, seed):
        self.images = [im for im in images if im.shape[0] >= crop and im.shape[1] >= crop]
        if not self.images:
            sys.exit(f"no training picture is at least {crop}x{crop}: use a smaller --crop")
        self.weights = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        self.weights /= self.weights.sum()
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def batch(self, n, device="cpu"):
        """n random crops as a float NCHW tensor in 0..1 on device (copied there as uint8, 4x less)."""
        out = np.empty((n, self.crop, self.crop, 3), dtype=np.uint8)
        for i in range(n):
            im = self.images[self.rng.choice(len(self.images), p=self.weights)]
            y = self.rng.integers(0, im.shape[0] - self.crop + 1)
            x = self.rng.integers(0, im.shape[1] - self.crop + 1)
            c = im[y:y + self.crop, x:x + self.crop]
            if self.rng.random() < 0.5:
                c = c[:, ::-1]
            out[i] = c
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(device).float() / 255.0


# ---------------------------------------------------------------- checkpoints

def load_model(path, N=None, M=None):
    """A model from a training checkpoint (.pt) or an exported weight file (.safetensors)."""
    if path and path.endswith(".pt") and os.path.exists(path):
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model = GainedHyperprior(ck["N"], ck["M"], levels=ck["model"]["y_gain_log"].shape[0])
        model.load_state_dict(ck["model"])
        return model, ck
    if path and path.endswith(".safetensors") and os.path.exists(path):
        from safetensors.torch import load_file
        t = load_file(path)
        N, M = t["g_a.0.weight"].shape[0], t["g_a.6.weight"].shape[0]
        model = GainedHyperprior(N, M, levels=t["y_gain"].shape[0])
        sd = model.state_dict()
        for k in sd:
            if k.endswith(".beta") or k.endswith(".gamma"):
                # invert the effective value into CompressAI's NonNegativeParametrizer raw value
                gdn = model.get_submodule(k.rsplit(".", 1)[0])
                par = gdn.beta_reparam if k.endswith(".beta") else gdn.gamma_reparam
                eff = t[k].float()
                if k.endswith(".gamma"):
                    eff = eff.view(eff.shape[0], eff.shape[1])
                sd[k] = par.init(eff)
            elif k == "y_gain_log":
                sd[k] = torch.log(t["y_gain"].float())
            elif k == "y_inv_gain_log":
                sd[k] = torch.log(t["y_inv_gain"].float())
            elif k.endswith(("_quantized_cdf", "_offset", "_cdf_length", "scale_table")):
                continue  # rebuilt by update_tables()
            elif k in t:
                # everything else by name, the factorized prior's matrices/biases/factors included
                # (a name filter here once dropped them and the density came back untrained)
                sd[k] = t[k].float().view(sd[k].shape)
            else:
                raise SystemExit(f"{path}: tensor {k} missing")
        model.load_state_dict(sd, strict=False)
        return model, {"N": N, "M": M, "step": int(json_meta(path).get("train_steps", 0)),
                       "seconds": float(json_meta(path).get("train_seconds", 0))}
    if N is None:
        raise SystemExit(f"no checkpoint at {path}; pass --N and --M to start from scratch")
    return GainedHyperprior(N, M), {"N": N, "M": M, "step": 0, "seconds": 0.0}


def json_meta(path):
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        return f.metadata() or {}


def effective_state(model):
    """state_dict with CompressAI names, GDN beta/gamma as effective values, gains as plain vectors."""
    model.update_tables()
    out = {}
    for k, v in model.state_dict().items():
        if k.endswith(".beta") or k.endswith(".gamma"):
            gdn = model.get_submodule(k.rsplit(".", 1)[0])
            v = gdn.beta_reparam(v) if k.endswith(".beta") else gdn.gamma_reparam(v)
        if k == "y_gain_log":
            k, v = "y_gain", torch.exp(v)
        elif k == "y_inv_gain_log":
            k, v = "y_inv_gain", torch.exp(v)
        elif k.endswith("_quantized_cdf") or k.endswith("_offset") or k.endswith("_cdf_length"):
            v = v.to(torch.int32)
        out[k] = v.detach().contiguous().clone()
    out["entropy_bottleneck._medians"] = model.entropy_bottleneck.quantiles[:, 0, 1].detach().clone()
    return out


def export(model, info, path, images):
    """Writes the weight file: effective float tensors, entropy tables, gains, integer h_s."""
    from safetensors.torch import save_file
    state = effective_state(model)
    state.update(calibrate_int_hs(model, images))
    meta = {
        "model": "vaec-gained-scale-hyperprior",
        "N": str(model.N), "M": str(model.M),
        "lambdas": json.dumps(LAMBDAS),
        "train_steps": str(info.get("step", 0)),
        "train_seconds": str(round(info.get("seconds", 0.0), 1)),
    }
    tmp = path + ".tmp"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    save_file(state, tmp, metadata=meta)
    os.replace(tmp, path)
    write_reference(path, os.path.join(os.path.dirname(path) or ".", "reference"))


REFERENCE_IMAGE = os.path.join(ROOT, "tests", "data_crop.png")
REFERENCE_QUALITY = 4.0


@torch.no_grad()
def write_reference(weights, out, image=REFERENCE_IMAGE, quality=REFERENCE_QUALITY, crop=None):
    """What the Rust engine must reproduce (tests/pytorch_reference.rs), computed from the weight
    file itself: y = g_a(x) before the gain, y_hat = round(y * gain), x_hat = g_s(y_hat / gain)
    (float, before clamping), as little-endian f32 files, with meta.json."""
    model, _ = load_model(weights)
    model.eval().update_tables()
    x = load_rgb(image)
    if crop:
        w, h = crop
        x = x[:, :, :h, :w]
    h, w = x.shape[2:]
    gain, inv_gain = model.gains(quality - 1)
    y = model.g_a(pad64(x))
    y_hat = torch.round(y * gain)
    x_hat = model.g_s(y_hat * inv_gain)
    os.makedirs(out, exist_ok=True)
    for name, t in (("y", y), ("y_hat", y_hat), ("x_hat", x_hat)):
        t.numpy().astype("<f4").tofile(os.path.join(out, f"{name}.f32"))
    with open(os.path.join(out, "meta.json"), "w") as fh:
        json.dump({"image": os.path.relpath(image, ROOT), "width": w, "height": h, "quality": quality,
                   "y_shape": list(y.shape[1:]), "x_hat_shape": list(x_hat.shape[1:])}, fh, indent=1)


# ---------------------------------------------------------------- integer hyper-synthesis

# Activations of the integer h_s: the input (z_hat, signed) and every hidden layer (after ReLU)
# are fixed-point integers of ACT_BITS bits; weights have at most WEIGHT_BITS bits and a per-output-
# channel power-of-two scale; each layer ends with a rounding right shift. See docs/integer-hyper-synthesis.md.
ACT_BITS = 12
WEIGHT_BITS = 12
# The last layer feeds no other layer: its output (the fixed-point scale) gets more bits, so that
# the smallest scales of the table are still resolved to about 1%.
OUT_BITS = 24
ACC_LIMIT = 2 ** 31 - 1


def _max_fan_in_abs(w_int, transposed, stride):
    """Per output channel: the largest sum of |w| over the taps one output pixel can receive."""
    w = w_int.abs().double()
    if transposed:
        w = w.transpose(0, 1)  # [out, in, k, k]
    if stride == 1 or not transposed:
        return w.sum(dim=(1, 2, 3))
    best = torch.zeros(w.shape[0], dtype=torch.float64)
    for py in range(stride):
        for px in range(stride):
            best = torch.maximum(best, w[:, :, py::stride, px::stride].sum(dim=(1, 2, 3)))
    return best


@torch.no_grad()
def calibrate_int_hs(model, images, crops=48, crop=256, seed=7):
    """Post-training quantization of h_s, calibrated on training crops at every quality.

    Returns the integer tensors for the weight file and a function that runs the integer network.
    """
    model.eval().update_tables()
    sampler = CropSampler(images, crop, seed)
    medians = model.entropy_bottleneck.quantiles[:, 0, 1].detach()
    z_max = 0.0
    act_max = [0.0, 0.0, 0.0]
    levels = model.y_gain_log.shape[0]
    for i in range(crops):
        x = sampler.batch(1)
        y = model.g_a(x) * model.gains(i % levels)[0]
        z = model.h_a(torch.abs(y))
        z_hat = torch.round(z - medians.view(1, -1, 1, 1)) + medians.view(1, -1, 1, 1)
        z_max = max(z_max, z_hat.abs().max().item())
        h = z_hat
        for j, li in enumerate((0, 2, 4)):
            h = torch.relu(model.h_s[li](h))
            act_max[j] = max(act_max[j], h.max().item())
    top = 2 ** (ACT_BITS - 1) - 1  # signed input range
    in_frac = int(math.floor(math.log2(top / max(z_max * 1.25, 1e-3))))
    tensors = {
        "h_s_int.input_frac_bits": torch.tensor([in_frac], dtype=torch.int32),
        "h_s_int.medians": torch.round(medians.double() * 2 ** in_frac).to(torch.int32),
    }
    a_in, in_abs_max = in_frac, 2 ** (ACT_BITS - 1)
    for j, li in enumerate((0, 2, 4)):
        layer = model.h_s[li]
        transposed = isinstance(layer, nn.ConvTranspose2d)
        w = layer.weight.detach().double()
        b = layer.bias.detach().double()
        act_top = 2 ** (OUT_BITS if li == 4 else ACT_BITS) - 1
        a_out = int(math.floor(math.log2(act_top / max(act_max[j] * 1.25, 1e-6))))
        per_out = w.abs().amax(dim=(0, 2, 3) if transposed else (1, 2, 3))
        exps = torch.floor(torch.log2((2 ** (WEIGHT_BITS - 1) - 1) / per_out.clamp(min=1e-12))).long()
        # the accumulator bound: |bias| + sum |w| * max|x| must fit in an i32
        while True:
            e = exps.view(-1, 1, 1, 1) if not transposed else exps.view(1, -1, 1, 1)
            w_int = torch.round(w * 2.0 ** e)
            b_int = torch.round(b * 2.0 ** (exps + a_in))
            bound = b_int.abs() + _max_fan_in_abs(w_int, transposed, layer.stride[0]) * in_abs_max
            bad = bound > ACC_LIMIT
            if not bad.any():
                break
            exps = exps - bad.long()
        # The output keeps at most the fractional bits the product has (a right shift only): with
        # small activations and large weights that means fewer than the range would allow.
        a_out = min(a_out, int((exps + a_in).min()))
        shifts = exps + a_in - a_out
        tensors[f"h_s_int.{li}.weight"] = w_int.to(torch.int32)
        tensors[f"h_s_int.{li}.bias"] = b_int.to(torch.int32)
        tensors[f"h_s_int.{li}.shift"] = shifts.to(torch.int32)
        tensors[f"h_s_int.{li}.act_max"] = torch.tensor([act_top], dtype=torch.int32)
        a_in, in_abs_max = a_out, act_top + 1
    bounds = scale_boundaries(model.gaussian_conditional.scale_table)
    tensors["h_s_int.thresholds"] = torch.floor(bounds * 2 ** a_in).clamp(max=ACC_LIMIT).to(torch.int32)
    return tensors


@torch.no_grad()
def int_hs_indexes(tensors, z_symbols, model):
    """Runs the integer h_s exactly (float64 holds every integer involved) on z symbols
    (round(z - median)); returns the scale-table indexes. Mirrors src/hyper.rs."""
    in_frac = int(tensors["h_s_int.input_frac_bits"][0])
    lo, hi = -2 ** (ACT_BITS - 1), 2 ** (ACT_BITS - 1) - 1
    x = (z_symbols.double() * 2 ** in_frac + tensors["h_s_int.medians"].double().view(1, -1, 1, 1)).clamp(lo, hi)
    for li in (0, 2, 4):
        layer = model.h_s[li]
        w = tensors[f"h_s_int.{li}.weight"].double()
        b = tensors[f"h_s_int.{li}.bias"].double()
        sh = tensors[f"h_s_int.{li}.shift"].long().view(1, -1, 1, 1)
        if isinstance(layer, nn.ConvTranspose2d):
            acc = F.conv_transpose2d(x, w, b, stride=2, padding=2, output_padding=1)
        else:
            acc = F.conv2d(x, w, b, stride=1, padding=1)
        acc = acc.long()
        act_top = int(tensors[f"h_s_int.{li}.act_max"][0])
        x = ((acc + ((1 << sh) >> 1)) >> sh).clamp(0, act_top).double()
    thr = tensors["h_s_int.thresholds"].long()
    return (x.long().unsqueeze(-1) > thr.view(1, 1, 1, 1, -1)).sum(-1)


# ---------------------------------------------------------------- training

def cmd_train(args):
    global RUNS, LOG
    if args.workdir:
        RUNS, LOG = os.path.join(args.workdir, "runs"), os.path.join(args.workdir, "log.csv")
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    # subnormal floats take a slow path on x86; tiny activations are not worth it
    torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    resume = args.resume or (os.path.join(RUNS, "last.pt") if os.path.exists(os.path.join(RUNS, "last.pt"))
                             else WEIGHTS)
    model, info = load_model(resume, args.N, args.M)
    added = len(LAMBDAS) - model.y_gain_log.shape[0]
    if added < 0:
        raise SystemExit(f"{resume} has {model.y_gain_log.shape[0]} quality levels, LAMBDAS {len(LAMBDAS)}")
    if added:
        # new levels only ever come below the old ones (LAMBDAS grew at its low end)
        model.add_low_levels(added)
        print(f"added {added} quality levels below the checkpoint's lowest", flush=True)
    model.to(dev).train()
    model.bf16 = args.bf16
    model.round_decoder = args.decoder_input == "round"
    if args.bf16:
        model.to(memory_format=torch.channels_last)
    print(f"model N={model.N} M={model.M} from {resume if os.path.exists(resume) else 'scratch'}, "
          f"step {info['step']}, device {dev}, bf16 {args.bf16}, decoder input {args.decoder_input}",
          flush=True)

    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    gain_params = [model.y_gain_log, model.y_inv_gain_log]
    other_params = [p for p in main_params if all(p is not g for g in gain_params)]
    gain_lr = args.gain_lr or args.lr
    # two groups so that the few gain parameters can learn faster (new quality levels)
    opt = torch.optim.Adam([{"params": other_params, "lr": args.lr}, {"params": gain_params, "lr": gain_lr}])
    aux_opt = torch.optim.Adam(aux_params, lr=1e-3)
    if "opt" in info and not args.reset_optimizer:
        if len(info["opt"]["param_groups"]) == 2:
            opt.load_state_dict(info["opt"])
        else:  # older checkpoints: one group in main_params order; move each parameter's moments
            twin = torch.optim.Adam(main_params, lr=args.lr)
            twin.load_state_dict(info["opt"])
            for p, st in twin.state.items():
                opt.state[p] = st
        aux_opt.load_state_dict(info["aux_opt"])
        if added:  # the gains' Adam moments have the old shape
            for p in gain_params:
                opt.state.pop(p, None)
        for g, lr in zip(opt.param_groups, (args.lr, gain_lr)):
            g["lr"] = lr

    if args.smoke:
        images = smoke_images()
    else:
        _, images = training_images(folder=args.data)
    sampler = CropSampler(images, args.crop, args.seed + info["step"])
    levels = len(LAMBDAS)
    os.makedirs(RUNS, exist_ok=True)
    new_log = not os.path.exists(LOG)
    log = open(LOG, "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "seconds", "lr", "crop", "quality", "lambda", "loss", "bpp", "psnr"])

    start = time.time()
    base_seconds = info["seconds"]
    step = info["step"]
    acc = []
    while True:
        elapsed = time.time() - start
        if (args.minutes and elapsed > args.minutes * 60) or (args.steps and step - info["step"] >= args.steps):
            break
        x = sampler.batch(args.batch, dev)
        if args.bf16:
            x = x.contiguous(memory_format=torch.channels_last)
        q = step % levels if args.round_robin else random.randrange(levels)
        lmbda = LAMBDAS[q]
        x_hat, y_lik, z_lik = model(x, q)
        num_pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = (torch.log(y_lik).sum() + torch.log(z_lik).sum()) / (-math.log(2) * num_pixels)
        mse = F.mse_loss(x_hat, x)
        loss = lmbda * 255 ** 2 * mse + bpp
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main_params, 1.0)
        opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        step += 1
        psnr = 10 * math.log10(1.0 / max(mse.item(), 1e-10))
        acc.append((q, loss.item(), bpp.item(), psnr))
        if step % args.log_every == 0:
            secs = base_seconds + time.time() - start
            for qq, l, b, p in acc[-1:]:
                writer.writerow([step, round(secs, 1), args.lr, args.crop, qq + 1, LAMBDAS[qq],
                                 round(l, 4), round(b, 4), round(p, 3)])
            log.flush()
            mean = np.mean([a[1] for a in acc], axis=0)
            print(f"step {step} {secs / 60:.1f} min loss(mean of {len(acc)}) {mean:.4f} "
                  f"last q{q + 1} bpp {bpp.item():.3f} psnr {psnr:.2f}", flush=True)
            acc = []
        if step % args.save_every == 0:
            save_checkpoint(model, opt, aux_opt, step, base_seconds + time.time() - start)
    info = save_checkpoint(model, opt, aux_opt, step, base_seconds + time.time() - start)
    model.cpu().eval()
    model.bf16 = model.round_decoder = False
    model.to(memory_format=torch.contiguous_format)
    if args.export:
        export(model, info, args.export, images)
        print(f"exported {args.export}")


def save_checkpoint(model, opt, aux_opt, step, seconds):
    info = {"N": model.N, "M": model.M, "step": step, "seconds": seconds,
            "model": model.state_dict(), "opt": opt.state_dict(), "aux_opt": aux_opt.state_dict()}
    tmp = os.path.join(RUNS, "last.pt.tmp")
    torch.save(info, tmp)
    os.replace(tmp, os.path.join(RUNS, "last.pt"))
    return info


# ---------------------------------------------------------------- evaluation

def load_rgb(path):
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"))).permute(2, 0, 1).float()[None] / 255.0


def table_bits(model, y_hat, indexes):
    """Bits of y_hat under the Gaussian of each element's scale-table entry (what the coder uses)."""
    gc = model.gaussian_conditional
    scales = gc.scale_table[indexes]
    lik = gc.likelihood_lower_bound(gc._likelihood(y_hat, scales))
    return -torch.log2(lik).sum().item()


@torch.no_grad()
def cmd_eval(args):
    from safetensors.torch import load_file
    model, info = load_model(args.weights)
    model.eval().update_tables()
    int_tensors = {} if args.weights.endswith(".pt") else {
        k: v for k, v in load_file(args.weights).items() if k.startswith("h_s_int.")}
    files = sorted(glob.glob(os.path.join(args.kodak, "*.png")))[: args.limit or None]
    qualities = [float(q) for q in args.quality.split(",")] if args.quality else range(1, model.y_gain_log.shape[0] + 1)
    medians = model.entropy_bottleneck.quantiles[:, 0, 1].view(1, -1, 1, 1)
    rows = []
    for q in qualities:
        bpps, psnrs, bits_float, bits_int, images = [], [], 0.0, 0.0, []
        for f in files:
            x = load_rgb(f)
            h, w = x.shape[2:]
            xp = pad64(x)
            x_hat, y_lik, z_lik = model(xp, q - 1)
            x_hat = x_hat[:, :, :h, :w].clamp(0, 1)
            bpp = (torch.log(y_lik).sum() + torch.log(z_lik).sum()).item() / (-math.log(2) * h * w)
            x8 = torch.round(x_hat * 255) / 255
            psnr = 10 * math.log10(1 / F.mse_loss(x8, x).item())
            bpps.append(bpp)
            psnrs.append(psnr)
            images.append({"file": os.path.basename(f), "bpp": bpp, "psnr": psnr})
            if int_tensors:
                gain, _ = model.gains(q - 1)
                y_s = model.g_a(xp) * gain
                y_hat = torch.round(y_s)
                z_sym = torch.round(model.h_a(torch.abs(y_s)) - medians)
                idx_float = scale_indexes(model, model.h_s(z_sym + medians))
                idx_int = int_hs_indexes(int_tensors, z_sym, model)
                bits_float += table_bits(model, y_hat, idx_float)
                bits_int += table_bits(model, y_hat, idx_int)
        row = {"quality": q, "bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs)), "images": images}
        if int_tensors:
            row["int_hs_rate_cost"] = bits_int / bits_float - 1 if bits_float > 0 else 0.0
        rows.append(row)
        extra = f", integer h_s costs {100 * row['int_hs_rate_cost']:+.3f}% of y bits" if int_tensors else ""
        print(f"q{q}: bpp {row['bpp']:.4f} psnr {row['psnr']:.3f} dB  ({len(files)} images){extra}", flush=True)
    result = {"weights": args.weights, "train_steps": info.get("step"), "train_seconds": info.get("seconds"),
              "bpp_source": "likelihoods", "rows": rows}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return result


def cmd_export(args):
    model, info = load_model(args.checkpoint)
    model.eval()
    export(model, info, args.out, smoke_images() if args.smoke else training_images()[1])
    print(f"exported {args.out} (N={model.N}, M={model.M}, step {info['step']})")


def cmd_reference(args):
    crop = tuple(int(v) for v in args.crop.split("x")) if args.crop else None
    write_reference(args.weights, args.out, os.path.abspath(args.image), args.quality, crop)
    print(f"reference written to {args.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train or resume")
    t.add_argument("--resume", help="checkpoint (.pt) or weight file (.safetensors); default runs/last.pt, else weights/")
    t.add_argument("--N", type=int, default=64)
    t.add_argument("--M", type=int, default=128)
    t.add_argument("--minutes", type=float, default=0)
    t.add_argument("--steps", type=int, default=0)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--gain-lr", type=float, default=0, help="learning rate of the gain vectors (default --lr)")
    t.add_argument("--crop", type=int, default=512,
                   help="crop side; 128 (with --batch 8) learns fastest from scratch, but the entropy "
                        "model then fits crop borders: move to 512 after the first few thousand steps")
    t.add_argument("--batch", type=int, default=2)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--log-every", type=int, default=50)
    t.add_argument("--save-every", type=int, default=500)
    t.add_argument("--round-robin", action="store_true", help="cycle the qualities instead of sampling them")
    t.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=False,
                   help="run the transforms in bfloat16 autocast (fast on CPUs with AVX512-BF16 and on GPUs)")
    t.add_argument("--decoder-input", choices=["round", "noise"], default="round",
                   help="what g_s sees in training: round(y) with a straight-through gradient (as when "
                        "decoding) or y plus uniform noise (Balle 2018); the rate uses the noisy y either way")
    t.add_argument("--reset-optimizer", action="store_true")
    t.add_argument("--smoke", action="store_true", help="random 96x96 image instead of the photos (CI)")
    t.add_argument("--cpu", action="store_true")
    t.add_argument("--data", help="folder of training pictures (default ../shared/data/train)")
    t.add_argument("--workdir", help="where checkpoints and the log go (default: train/runs, train/log.csv)")
    t.add_argument("--export", help="write a weight file when done")
    e = sub.add_parser("eval", help="Kodak rate-distortion from likelihoods")
    e.add_argument("--weights", default=WEIGHTS)
    e.add_argument("--kodak", default=os.path.join(DATA, "kodak"))
    e.add_argument("--quality", help="comma-separated list, 1..levels; default all")
    e.add_argument("--limit", type=int, default=0)
    e.add_argument("--json")
    x = sub.add_parser("export", help="checkpoint -> safetensors weight file")
    x.add_argument("--checkpoint", default=os.path.join(RUNS, "last.pt"))
    x.add_argument("--out", default=WEIGHTS)
    x.add_argument("--smoke", action="store_true", help="calibrate on synthetic pictures (CI)")
    r = sub.add_parser("reference", help="PyTorch forward pass for the Rust engine to match")
    r.add_argument("image")
    r.add_argument("--weights", default=WEIGHTS)
    r.add_argument("--quality", type=float, default=4)
    r.add_argument("--crop", help="WxH crop from the top-left corner")
    r.add_argument("--out", required=True)
    args = p.parse_args()
    {"train": cmd_train, "eval": cmd_eval, "export": cmd_export, "reference": cmd_reference}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
