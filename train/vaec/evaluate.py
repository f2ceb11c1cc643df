"""Kodak rate-distortion from the model: bpp from likelihoods, and (for weight files) the rate and
PSNR of what the integer networks make of it, as the codec codes it."""
import glob
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import load_model, load_weight_tensors
from .data import load_rgb, pad64
from .int_net import code_latents
from .model import scale_boundaries


def scale_indexes(model, scales):
    """Float twin of the integer networks' last step: index of the table scale nearest to each scale."""
    gc = model.gaussian_conditional
    bounds = scale_boundaries(gc.scale_table).to(scales.dtype)
    return (gc.lower_bound_scale(scales).unsqueeze(-1) > bounds).sum(-1)


def table_bits(model, symbols, indexes):
    """Bits of the coded symbols under the zero-mean Gaussian of each element's table entry."""
    gc = model.gaussian_conditional
    scales = gc.scale_table[indexes]
    lik = gc.likelihood_lower_bound(gc._likelihood(symbols, scales))
    return -torch.log2(lik).sum().item()


def psnr8(x_hat, x):
    x8 = torch.round(x_hat.clamp(0, 1) * 255) / 255
    return 10 * math.log10(1 / F.mse_loss(x8, x).item())


@torch.no_grad()
def picture(model, int_tensors, path, q):
    """One picture at one quality: a dict of bpp and PSNR, float and (with int_tensors) integer."""
    x = load_rgb(path)
    h, w = x.shape[2:]
    xp = pad64(x)
    x_hat, y_lik, z_lik = model(xp, q - 1)
    z_bits = -torch.log2(z_lik).sum().item()
    row = {"file": os.path.basename(path),
           "bpp": (-torch.log2(y_lik).sum().item() + z_bits) / (h * w),
           "psnr": psnr8(x_hat[:, :, :h, :w], x)}
    if not int_tensors:
        return row
    y, z = model.analysis(xp, q - 1)
    medians = model.entropy_bottleneck.quantiles[:, 0, 1].view(1, -1, 1, 1)
    symbols, indexes, means = code_latents(int_tensors, y, torch.round(z - medians))
    y_bits = table_bits(model, symbols, indexes)
    if means is None:
        y_hat = symbols
        # what the float h_s would have chosen: the integer network's cost in bits
        hyper = model.h_s(torch.round(z - medians) + medians)
        row["y_bits_float_hs"] = table_bits(model, symbols, scale_indexes(model, hyper))
    else:
        a_p = int(int_tensors["entropy_parameters_int.output_frac_bits"][0])
        y_hat = (symbols + means / 2 ** a_p).float()
    _, inv_gain = model.gains(q - 1)
    row["y_bits"] = y_bits
    row["int_bpp"] = (y_bits + z_bits) / (h * w)
    row["int_psnr"] = psnr8(model.g_s(y_hat * inv_gain)[:, :, :h, :w], x)
    return row


def run(args):
    model, info = load_model(args.weights)
    model.eval().update_tables()
    int_tensors = {} if args.weights.endswith(".pt") else {
        k: v for k, v in load_weight_tensors(args.weights).items() if "_int." in k}
    files = sorted(glob.glob(os.path.join(args.kodak, "*.png")))[: args.limit or None]
    qualities = [float(q) for q in args.quality.split(",")] if args.quality else range(1, model.y_gain_log.shape[0] + 1)
    rows = []
    for q in qualities:
        images = [picture(model, int_tensors, f, q) for f in files]
        row = {"quality": q, "bpp": float(np.mean([i["bpp"] for i in images])),
               "psnr": float(np.mean([i["psnr"] for i in images])), "images": images}
        extra = ""
        if int_tensors:
            row["int_bpp"] = float(np.mean([i["int_bpp"] for i in images]))
            row["int_psnr"] = float(np.mean([i["int_psnr"] for i in images]))
            extra = f"; integer networks: bpp {row['int_bpp']:.4f} psnr {row['int_psnr']:.3f} dB"
            if "y_bits_float_hs" in images[0]:
                float_bits = sum(i["y_bits_float_hs"] for i in images)
                row["int_hs_rate_cost"] = sum(i["y_bits"] for i in images) / float_bits - 1 if float_bits else 0.0
                extra += f", integer h_s costs {100 * row['int_hs_rate_cost']:+.3f}% of y bits"
        rows.append(row)
        print(f"q{q}: bpp {row['bpp']:.4f} psnr {row['psnr']:.3f} dB  ({len(files)} images){extra}", flush=True)
    result = {"weights": args.weights, "train_steps": info.get("step"), "train_seconds": info.get("seconds"),
              "bpp_source": "likelihoods", "rows": rows}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return result
