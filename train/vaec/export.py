"""The weight file the Rust engine reads, and the PyTorch forward pass it must reproduce."""
import json
import os

import torch

from .checkpoint import load_model
from .data import load_rgb, pad64
from .int_net import calibrate
from .model import LAMBDAS
from .paths import REFERENCE_IMAGE, ROOT

REFERENCE_QUALITY = 4.0


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
    """Writes the weight file: effective float tensors, entropy tables, gains, integer networks."""
    from safetensors.torch import save_file
    state = effective_state(model)
    state.update(calibrate(model, images))
    meta = {
        "model": "vaec-gained-checkerboard" if model.context else "vaec-gained-scale-hyperprior",
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
