"""Encoder effort, the experiment: optimize the latents y of one picture for D + lambda R with the
decoder fixed, and measure what the codec would code (exact integer entropy parameters, table
bits, PSNR of g_s on the coded y), against today's encoder (effort 0).

The search holds what the GPU encoder can hold without a backward pass through the integer
networks: z (so the scales and the anchors' means stay those of the first encode) and, per
stage, the non-anchors' scales and means. Variants (--variant):
    held      one stage: every element of y against the entropy parameters of the first encode;
              the coded file then recomputes the non-anchors' means from the new anchors.
    refine    held, then the anchors fixed at their coded values, the non-anchors' parameters
              recomputed from them (as the decoder will), and the non-anchors searched again.
Rounding during the search (--rounding): sga (stochastic Gumbel annealing, Yang et al. 2020: a
soft choice between floor and ceil of y - mean, temperature annealed) or ste (round forward,
identity backward). The best point (true coded loss, checked every --check-every steps) is kept.

    python3 train/latent_search.py ../shared/data/kodak/kodim05.png --quality 1,4,7,10
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vaec.checkpoint import load_model, load_weight_tensors  # noqa: E402
from vaec.data import load_rgb, pad64  # noqa: E402
from vaec.evaluate import psnr8, table_bits  # noqa: E402
from vaec.int_net import code_latents  # noqa: E402
from vaec.model import LAMBDAS, anchor_mask  # noqa: E402


def lam(q):
    """lambda of a (fractional) quality, geometric between the trained ones."""
    lo = min(int(math.floor(q - 1)), len(LAMBDAS) - 1)
    hi = min(lo + 1, len(LAMBDAS) - 1)
    t = (q - 1) - lo
    return math.exp((1 - t) * math.log(LAMBDAS[lo]) + t * math.log(LAMBDAS[hi]))


class Coder:
    """The picture, the model and the exact coding of a y."""

    def __init__(self, model, tensors, path, q):
        self.model, self.tensors, self.q = model, tensors, q
        self.x = load_rgb(path)
        self.h, self.w = self.x.shape[2:]
        self.xp = pad64(self.x)
        with torch.no_grad():
            self.y0, z = model.analysis(self.xp, q - 1)
            medians = model.entropy_bottleneck.quantiles[:, 0, 1].view(1, -1, 1, 1)
            self.z_sym = torch.round(z - medians)
            _, z_lik = model.entropy_bottleneck(z, training=False)
            self.z_bits = -torch.log2(z_lik).sum().item()
        _, self.inv_gain = model.gains(q - 1)
        self.inv_gain = self.inv_gain.detach()
        self.a_p = int(tensors["entropy_parameters_int.output_frac_bits"][0])
        self.anchors = anchor_mask(self.y0.shape[2], self.y0.shape[3])
        self.lam = lam(q)

    def params(self, y):
        """(scales, means) the codec uses for y: exact, from the integer networks."""
        with torch.no_grad():
            symbols, indexes, means = code_latents(self.tensors, y, self.z_sym)
            scales = self.model.gaussian_conditional.scale_table[indexes].float()
            return symbols.float(), indexes, scales, (means / 2 ** self.a_p).float()

    def coded(self, y):
        """(bpp, psnr, loss) of the file the codec writes for y."""
        with torch.no_grad():
            symbols, indexes, _, means = self.params(y)
            bits = table_bits(self.model, symbols, indexes) + self.z_bits
            x_hat = self.model.g_s((symbols + means) * self.inv_gain)[:, :, : self.h, : self.w]
            mse = F.mse_loss(x_hat.clamp(0, 1), self.x).item()
            bpp = bits / (self.h * self.w)
            return bpp, psnr8(x_hat, self.x), self.lam * 255 ** 2 * mse + bpp

    def search(self, y_start, scales, means, free, steps, lr, rounding, check_every, tau0=0.5, tau1=0.02):
        """Adam on y where free is 1, for D + lambda R with the given scales and means held."""
        y = y_start.clone().requires_grad_(True)
        opt = torch.optim.Adam([y], lr=lr)
        gc = self.model.gaussian_conditional
        best = (self.coded(y_start)[2], y_start.clone())
        n = self.h * self.w
        for step in range(steps):
            tau = tau0 * (tau1 / tau0) ** (step / max(1, steps - 1))
            u = y - means
            if rounding == "sga":
                lo = torch.floor(u.detach())
                r = (u - lo).clamp(1e-4, 1 - 1e-4)
                # probability of rounding down grows as u nears its floor (Yang et al.'s atanh)
                logits = torch.stack([-torch.atanh(r) / tau, -torch.atanh(1 - r) / tau], -1)
                pick = F.gumbel_softmax(logits, tau=tau, hard=False)
                u_hat = lo + pick[..., 1]
            else:
                u_hat = u + (torch.round(u) - u).detach()
            y_hat = u_hat + means
            lik = gc.likelihood_lower_bound(gc._likelihood(u_hat, scales))
            bits = -torch.log2(lik).sum()
            x_hat = self.model.g_s(y_hat * self.inv_gain)[:, :, : self.h, : self.w]
            loss = self.lam * 255 ** 2 * F.mse_loss(x_hat, self.x) + bits / n
            opt.zero_grad()
            loss.backward()
            y.grad *= free
            opt.step()
            if (step + 1) % check_every == 0 or step + 1 == steps:
                candidate = y.detach()
                true_loss = self.coded(candidate)[2]
                if true_loss < best[0]:
                    best = (true_loss, candidate.clone())
        return best[1]


def run_one(coder, variant, steps, lr, rounding, check_every):
    _, _, scales, means = coder.params(coder.y0)
    ones = torch.ones_like(coder.y0)
    y = coder.search(coder.y0, scales, means, ones, steps, lr, rounding, check_every)
    if variant == "refine":
        symbols, _, scales, means = coder.params(y)
        anchors_fixed = torch.where(coder.anchors.bool(), symbols + means, y)
        y = coder.search(anchors_fixed, scales, means, 1 - coder.anchors, steps // 2, lr, rounding,
                         check_every)
    return y


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pictures", nargs="+")
    p.add_argument("--weights", default=os.path.join(os.path.dirname(__file__), "..", "weights",
                                                     "vaec-context.safetensors"))
    p.add_argument("--quality", default="1,4,7,10")
    p.add_argument("--variant", default="held,refine")
    p.add_argument("--rounding", default="sga")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--check-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, _ = load_model(args.weights)
    model.eval().update_tables()
    for prm in model.parameters():
        prm.requires_grad_(False)
    tensors = {k: v for k, v in load_weight_tensors(args.weights).items() if "_int." in k}
    rows = []
    for path in args.pictures:
        for q in [float(v) for v in args.quality.split(",")]:
            coder = Coder(model, tensors, path, q)
            bpp0, psnr0, loss0 = coder.coded(coder.y0)
            row = {"file": os.path.basename(path), "quality": q, "effort0": {"bpp": bpp0, "psnr": psnr0, "loss": loss0}}
            print(f"{row['file']} q{q}: effort 0: {bpp0:.4f} bpp {psnr0:.3f} dB", flush=True)
            for variant in args.variant.split(","):
                for rounding in args.rounding.split(","):
                    t0 = time.time()
                    y = run_one(coder, variant, args.steps, args.lr, rounding, args.check_every)
                    bpp, psnr, loss = coder.coded(y)
                    key = f"{variant}-{rounding}"
                    row[key] = {"bpp": bpp, "psnr": psnr, "loss": loss, "seconds": time.time() - t0}
                    print(f"   {key}: {bpp:.4f} bpp ({100 * (bpp / bpp0 - 1):+.1f}%) {psnr:.3f} dB "
                          f"({psnr - psnr0:+.3f}) loss {loss / loss0 - 1:+.2%} in {time.time() - t0:.0f} s",
                          flush=True)
            rows.append(row)
            if args.json:
                with open(args.json, "w") as fh:
                    json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
