"""Command line: train, eval, export, widen, reference."""
import argparse
import os

from . import evaluate, train
from .checkpoint import load_model, save_checkpoint
from .data import load_rgb, pad64, smoke_images, training_images
from .export import export, write_reference
from .model import LAMBDAS, widen
from .paths import DATA, REFERENCE_IMAGE, WEIGHTS, Paths

USAGE = """Training, evaluation and export for vaec-gpu's model.

    python3 train/vaec_train.py train   --minutes 60          # resumes from train/runs/last.pt, else weights/
    python3 train/vaec_train.py eval    --kodak ../shared/data/kodak
    python3 train/vaec_train.py export  --out weights/vaec-hyperprior.safetensors
    python3 train/vaec_train.py widen   --N 128 --M 192 --out train/runs/wide/runs/last.pt
    python3 train/vaec_train.py reference IMAGE --out DIR     # PyTorch forward pass for the Rust engine to match

The model is CompressAI's ScaleHyperprior (Balle et al. 2018) with CompressAI's layer names, plus
per-channel gain vectors on y (Cui et al. 2021): one model covers the whole rate range, one gain
vector per training lambda, and geometric interpolation between neighbours gives a continuous
quality knob; `train --context` grows it into a mean-scale checkerboard context model. Training
data comes from ../shared/data/train only (never Kodak).
"""


def cmd_export(args):
    model, info = load_model(args.checkpoint)
    model.eval()
    export(model, info, args.out, smoke_images() if args.smoke else training_images()[1])
    print(f"exported {args.out} (N={model.N}, M={model.M}, context {model.context}, step {info['step']})")


def cmd_widen(args):
    import torch
    model, info = load_model(args.resume)
    model.eval().update_tables()
    wide = widen(model, args.N, args.M)
    wide.eval().update_tables()
    # the proof that it is function-preserving: the same reconstruction on a real picture
    x = pad64(load_rgb(REFERENCE_IMAGE))
    with torch.no_grad():
        for q in (0, len(LAMBDAS) - 1):
            diff = float((model(x, q)[0] - wide(x, q)[0]).abs().max())
            print(f"quality {q + 1}: largest difference of the reconstruction {diff:.2e}")
    save_checkpoint(args.out, wide, info.get("step", 0), info.get("seconds", 0.0))
    print(f"widened N={model.N} M={model.M} -> N={wide.N} M={wide.M}, step {info.get('step', 0)}: {args.out}")


def cmd_reference(args):
    crop = tuple(int(v) for v in args.crop.split("x")) if args.crop else None
    write_reference(args.weights, args.out, os.path.abspath(args.image), args.quality, crop)
    print(f"reference written to {args.out}")


def main():
    p = argparse.ArgumentParser(description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train or resume")
    t.add_argument("--resume", help="checkpoint (.pt) or weight file (.safetensors); default runs/last.pt, else weights/")
    t.add_argument("--N", type=int, default=64)
    t.add_argument("--M", type=int, default=128)
    t.add_argument("--context", action="store_true",
                   help="grow a scale model into the mean-scale checkerboard context model first")
    t.add_argument("--freeze-transforms", action="store_true",
                   help="train only the entropy model (h_a, h_s, context, priors): g_a, g_s and the gains stay")
    t.add_argument("--freeze-hyperprior", action="store_true",
                   help="with --context: keep h_a, h_s, the factorized prior and the anchors' network as "
                        "grown from the scale model (train only the context and the others' network)")
    t.add_argument("--latent-cache", type=int, default=0, metavar="CROPS",
                   help="with --freeze-transforms: compute y for this many crops once and train the entropy "
                        "model on them (several times faster steps)")
    t.add_argument("--minutes", type=float, default=0)
    t.add_argument("--steps", type=int, default=0)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--warmup", type=int, default=0, metavar="STEPS",
                   help="raise the learning rates linearly from 0 over the first STEPS steps of this run "
                        "(for a checkpoint without optimizer moments)")
    t.add_argument("--gain-lr", type=float, default=0, help="learning rate of the gain vectors (default --lr)")
    t.add_argument("--context-lr", type=float, default=0,
                   help="learning rate of the context and entropy-parameter network (default --lr)")
    t.add_argument("--crop", type=int, default=512,
                   help="crop side; 128 (with --batch 8) learns fastest from scratch, but the entropy "
                        "model then fits crop borders: move to 512 after the first few thousand steps")
    t.add_argument("--batch", type=int, default=2)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--log-every", type=int, default=50)
    t.add_argument("--save-every", type=int, default=500)
    t.add_argument("--round-robin", action="store_true", help="cycle the qualities instead of sampling them")
    t.add_argument("--quality-weights", help="comma-separated sampling weight per quality level (default uniform); "
                   "the high rates need more updates for the transforms to learn fine detail")
    t.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=False,
                   help="run the transforms in bfloat16 autocast (fast on CPUs with AVX512-BF16 and on GPUs)")
    t.add_argument("--decoder-input", choices=["round", "noise"], default="round",
                   help="what g_s sees in training: round(y) with a straight-through gradient (as when "
                        "decoding) or y plus uniform noise (Balle 2018); the rate uses the noisy y either way")
    t.add_argument("--reset-optimizer", action="store_true")
    t.add_argument("--smoke", action="store_true", help="random pictures instead of the photos (CI)")
    t.add_argument("--cpu", action="store_true")
    t.add_argument("--data", help="folder of training pictures (default ../shared/data/train)")
    t.add_argument("--workdir", help="where checkpoints and the log go (default: train/runs, train/log.csv)")
    t.add_argument("--export", help="write a weight file when done")
    e = sub.add_parser("eval", help="Kodak rate-distortion from likelihoods and integer networks")
    e.add_argument("--weights", default=WEIGHTS)
    e.add_argument("--kodak", default=os.path.join(DATA, "kodak"))
    e.add_argument("--quality", help="comma-separated list, 1..levels; default all")
    e.add_argument("--limit", type=int, default=0)
    e.add_argument("--json")
    x = sub.add_parser("export", help="checkpoint -> safetensors weight file")
    x.add_argument("--checkpoint", default=Paths().last)
    x.add_argument("--out", default=WEIGHTS)
    x.add_argument("--smoke", action="store_true", help="calibrate on synthetic pictures (CI)")
    wd = sub.add_parser("widen", help="function-preserving widening of a model into a checkpoint")
    wd.add_argument("--resume", default=WEIGHTS)
    wd.add_argument("--N", type=int, required=True)
    wd.add_argument("--M", type=int, required=True)
    wd.add_argument("--out", required=True)
    r = sub.add_parser("reference", help="PyTorch forward pass for the Rust engine to match")
    r.add_argument("image")
    r.add_argument("--weights", default=WEIGHTS)
    r.add_argument("--quality", type=float, default=4)
    r.add_argument("--crop", help="WxH crop from the top-left corner")
    r.add_argument("--out", required=True)
    args = p.parse_args()
    {"train": train.run, "eval": evaluate.run, "export": cmd_export, "widen": cmd_widen,
     "reference": cmd_reference}[args.cmd](args)
