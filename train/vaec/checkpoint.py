"""Training checkpoints (.pt, with optimizer state) and weight files (.safetensors) as models."""
import os

import torch

from .model import TABLE_KEYS, GainedHyperprior


def json_meta(path):
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        return f.metadata() or {}


def _from_checkpoint(path):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = GainedHyperprior(ck["N"], ck["M"], levels=ck["model"]["y_gain_log"].shape[0],
                             context=ck.get("context", False))
    # entropy tables are rebuilt by update_tables(); a checkpoint may or may not hold them
    state = {k: v for k, v in ck["model"].items() if not k.endswith(TABLE_KEYS)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith(TABLE_KEYS)]
    if missing or unexpected:
        raise SystemExit(f"{path}: missing {missing}, unexpected {unexpected}")
    return model, ck


def load_weight_tensors(path):
    """A weight file's tensors; a packed file that names a base (`vaec.base`, see
    scripts/pack_weights.py: the context model names the scale model) gets the base's tensors
    it does not have itself."""
    from safetensors.torch import load_file
    t = load_file(path)
    base = json_meta(path).get("vaec.base")
    if base:
        base_path = os.path.join(os.path.dirname(path), f"vaec-{base}.safetensors")
        t = {**load_file(base_path), **t}
    return t


def _from_weight_file(path):
    t = load_weight_tensors(path)
    N, M = t["g_a.0.weight"].shape[0], t["g_a.6.weight"].shape[0]
    model = GainedHyperprior(N, M, levels=t["y_gain"].shape[0], context="context_prediction.weight" in t)
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
        elif k.endswith(TABLE_KEYS):
            continue  # rebuilt by update_tables()
        elif k in t:
            # everything else by name, the factorized prior's matrices/biases/factors included
            # (a name filter here once dropped them and the density came back untrained)
            sd[k] = t[k].float().view(sd[k].shape)
        else:
            raise SystemExit(f"{path}: tensor {k} missing")
    model.load_state_dict(sd, strict=False)
    meta = json_meta(path)
    return model, {"N": N, "M": M, "context": model.context, "step": int(meta.get("train_steps", 0)),
                   "seconds": float(meta.get("train_seconds", 0))}


def load_model(path, N=None, M=None):
    """A model from a training checkpoint (.pt) or an exported weight file (.safetensors), or a new
    one of N x M when there is no file at path."""
    if path and path.endswith(".pt") and os.path.exists(path):
        return _from_checkpoint(path)
    if path and path.endswith(".safetensors") and os.path.exists(path):
        return _from_weight_file(path)
    if N is None:
        raise SystemExit(f"no checkpoint at {path}; pass --N and --M to start from scratch")
    return GainedHyperprior(N, M), {"N": N, "M": M, "step": 0, "seconds": 0.0}


def save_checkpoint(path, model, step, seconds, opt=None, aux_opt=None):
    """Writes atomically; the optimizer state is optional (a grown model starts with fresh moments)."""
    info = {"N": model.N, "M": model.M, "context": model.context, "step": step, "seconds": seconds,
            "model": {k: v for k, v in model.state_dict().items() if not k.endswith(TABLE_KEYS)}}
    if opt is not None:
        info["opt"], info["aux_opt"] = opt.state_dict(), aux_opt.state_dict()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    torch.save(info, tmp)
    os.replace(tmp, path)
    return info
