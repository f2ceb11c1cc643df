"""The training loop: resumable, one CSV row per logged step, checkpoints written atomically."""
import csv
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import load_model, save_checkpoint
from .data import CropSampler, smoke_images, training_images
from .export import export
from .model import LAMBDAS, add_context
from .paths import WEIGHTS, Paths


def _learning_rates(args):
    return {"networks": args.lr, "gains": args.gain_lr or args.lr, "context": args.context_lr or args.lr}


def _optimizers(model, args):
    """Adam for the networks, a second group for the gain vectors (new quality levels learn
    faster), and CompressAI's auxiliary Adam for the factorized prior's quantiles."""
    frozen = ("g_a.", "g_s.", "y_gain_log", "y_inv_gain_log") if args.freeze_transforms else ()
    if args.freeze_hyperprior:
        # the scale model's entropy model as it is: the anchors are coded exactly as before
        frozen += ("h_a.", "h_s.", "entropy_bottleneck.", "anchor_parameters.")
    named = [(n, p) for n, p in model.named_parameters() if not n.endswith("quantiles")]
    for n, p in named:
        p.requires_grad_(not n.startswith(frozen))
    named = [(n, p) for n, p in named if p.requires_grad]
    gains = ("y_gain_log", "y_inv_gain_log")
    new_parts = ("context_prediction.", "context_magnitude.", "entropy_parameters.", "anchor_parameters.")
    gain_params = [p for n, p in named if n in gains and p.requires_grad]
    grown = [p for n, p in named if n.startswith(new_parts)]
    other = [p for n, p in named if n not in gains and not n.startswith(new_parts) and p.requires_grad]
    lrs = _learning_rates(args)
    groups = [{"params": other, "lr": lrs["networks"], "name": "networks"}]
    if gain_params:
        groups.append({"params": gain_params, "lr": lrs["gains"], "name": "gains"})
    if grown:
        # the context's parts start from scratch: they may learn faster than the trained rest
        groups.append({"params": grown, "lr": lrs["context"], "name": "context"})
    aux_lr = 0.0 if args.freeze_hyperprior else 1e-3
    aux = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    groups = [g for g in groups if g["params"]]
    return torch.optim.Adam(groups), torch.optim.Adam(aux, lr=aux_lr), other + gain_params + grown


@torch.no_grad()
def latent_cache(model, images, args, paths, dev):
    """g_a's output (before the gain) for args.latent_cache random crops, as float16, computed once
    and kept in the run's folder: with frozen transforms a step then costs only the entropy model."""
    path = os.path.join(paths.runs, f"latents_{args.crop}_{args.latent_cache}_{args.seed}.pt")
    if os.path.exists(path):
        return torch.load(path)
    sampler = CropSampler(images, args.crop, args.seed + 12345)
    model.eval()
    parts = []
    for i in range(0, args.latent_cache, args.batch):
        x = sampler.batch(min(args.batch, args.latent_cache - i), dev)
        parts.append(model._transform(model.g_a, x).half().cpu())
    model.train()
    cache = torch.cat(parts)
    os.makedirs(paths.runs, exist_ok=True)
    torch.save(cache, path + ".tmp")
    os.replace(path + ".tmp", path)
    return cache


def run(args):
    paths = Paths.in_workdir(args.workdir)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    # subnormal floats take a slow path on x86; tiny activations are not worth it
    torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    resume = args.resume or (paths.last if os.path.exists(paths.last) else WEIGHTS)
    model, info = load_model(resume, args.N, args.M)
    if args.context and not model.context:
        model = add_context(model)
        info = {k: v for k, v in info.items() if k not in ("opt", "aux_opt")}
        print("added the checkerboard context (the model starts as the scale model it came from)", flush=True)
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
    model.frozen_transforms = args.freeze_transforms
    if args.bf16:
        model.to(memory_format=torch.channels_last)
    print(f"model N={model.N} M={model.M} context {model.context} from "
          f"{resume if os.path.exists(resume) else 'scratch'}, step {info['step']}, device {dev}, "
          f"bf16 {args.bf16}, decoder input {args.decoder_input}, frozen transforms {args.freeze_transforms}",
          flush=True)

    opt, aux_opt, clipped = _optimizers(model, args)
    if "opt" in info and not args.reset_optimizer:
        try:
            opt.load_state_dict(info["opt"])
            aux_opt.load_state_dict(info["aux_opt"])
        except ValueError as e:  # another parameter grouping: start with fresh moments
            print(f"optimizer state not resumed ({e})", flush=True)
        if added:  # the gains' Adam moments have the old shape
            for p in (model.y_gain_log, model.y_inv_gain_log):
                opt.state.pop(p, None)
        lrs = _learning_rates(args)
        for i, g in enumerate(opt.param_groups):
            # older checkpoints have unnamed groups: networks, then gains
            g["lr"] = lrs[g.get("name", ("networks", "gains")[min(i, 1)])]

    images = smoke_images() if args.smoke else training_images(folder=args.data)[1]
    sampler = CropSampler(images, args.crop, args.seed + info["step"])
    cache = None
    if args.latent_cache:
        if not args.freeze_transforms:
            raise SystemExit("--latent-cache needs --freeze-transforms (y must not change)")
        cache = latent_cache(model, images, args, paths, dev)
        print(f"latent cache: {cache.shape[0]} crops of y", flush=True)
    levels = len(LAMBDAS)
    weights = [float(w) for w in args.quality_weights.split(",")] if args.quality_weights else [1.0] * levels
    if len(weights) != levels:
        raise SystemExit(f"--quality-weights needs {levels} numbers, got {len(weights)}")
    os.makedirs(paths.runs, exist_ok=True)
    new_log = not os.path.exists(paths.log)
    log = open(paths.log, "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "seconds", "lr", "crop", "quality", "lambda", "loss", "bpp", "psnr"])

    base_lrs = [g["lr"] for g in opt.param_groups]
    start = time.time()
    base_seconds = info["seconds"]
    step = info["step"]
    losses = []
    while True:
        elapsed = time.time() - start
        if (args.minutes and elapsed > args.minutes * 60) or (args.steps and step - info["step"] >= args.steps):
            break
        q = step % levels if args.round_robin else random.choices(range(levels), weights)[0]
        if cache is not None:
            y_raw = cache[torch.randint(0, cache.shape[0], (args.batch,))].to(dev).float()
            x_hat, y_lik, z_lik = model.forward_latent(y_raw, q)
            num_pixels = args.batch * args.crop * args.crop
        else:
            x = sampler.batch(args.batch, dev)
            if args.bf16:
                x = x.contiguous(memory_format=torch.channels_last)
            x_hat, y_lik, z_lik = model(x, q)
            num_pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = (torch.log(y_lik).sum() + torch.log(z_lik).sum()) / (-math.log(2) * num_pixels)
        if x_hat is None:  # frozen transforms: the distortion does not depend on what is trained
            loss, psnr = bpp, float("nan")
        else:
            mse = F.mse_loss(x_hat, x)
            loss = LAMBDAS[q] * 255 ** 2 * mse + bpp
            psnr = 10 * math.log10(1.0 / max(mse.item(), 1e-10))
        if args.warmup:
            ramp = min(1.0, (step - info["step"] + 1) / args.warmup)
            for g, base in zip(opt.param_groups, base_lrs):
                g["lr"] = base * ramp
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(clipped, 1.0)
        opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        step += 1
        losses.append(loss.item())
        if step % args.log_every == 0:
            secs = base_seconds + time.time() - start
            writer.writerow([step, round(secs, 1), args.lr, args.crop, q + 1, LAMBDAS[q],
                             round(loss.item(), 4), round(bpp.item(), 4), round(psnr, 3)])
            log.flush()
            print(f"step {step} {secs / 60:.1f} min loss(mean of {len(losses)}) {np.mean(losses):.4f} "
                  f"last q{q + 1} bpp {bpp.item():.3f} psnr {psnr:.2f}", flush=True)
            losses = []
        if step % args.save_every == 0:
            save_checkpoint(paths.last, model, step, base_seconds + time.time() - start, opt, aux_opt)
    info = save_checkpoint(paths.last, model, step, base_seconds + time.time() - start, opt, aux_opt)
    model.cpu().eval()
    model.bf16 = model.round_decoder = model.frozen_transforms = False
    model.to(memory_format=torch.contiguous_format)
    if args.export:
        export(model, info, args.export, images)
        print(f"exported {args.export}")
