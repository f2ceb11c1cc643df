"""Integer networks: everything that decides an entropy-table index or a mean, in integer
arithmetic, so that encoder and decoder agree bit for bit on every device.

Post-training quantization of the float layers (see docs/integer-hyper-synthesis.md), and an exact
runner (float64 holds every integer involved) that mirrors the Rust twins in src/cpu/int_hs.rs.

Each integer layer is stored under a prefix P as P.weight, P.bias (int32), P.shift (per output
channel), P.act_max and P.geometry = [kernel, stride, padding, transposed, relu, groups]: the
output is clamp((acc + ((1 << shift) >> 1)) >> shift, 0 or -act_max - 1, act_max).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import CropSampler
from .model import anchor_mask, scale_boundaries

# Activations are fixed-point integers of ACT_BITS bits; weights have at most WEIGHT_BITS bits and
# a per-output-channel power-of-two scale; each layer ends with a rounding right shift.
ACT_BITS = 12
WEIGHT_BITS = 12
# The last layer feeds no other layer: its output (the fixed-point scale, and the mean) gets more
# bits, so that the smallest scales of the table are still resolved to about 1%.
OUT_BITS = 24
ACC_LIMIT = 2 ** 31 - 1
ACT_TOP = 2 ** ACT_BITS - 1           # unsigned hidden activations (after ReLU)
SIGNED_TOP = 2 ** (ACT_BITS - 1) - 1  # signed activations: the input and the context
OUT_TOP = 2 ** OUT_BITS - 1           # the last layer: unsigned scales (scale model)
# The context model's inner values (h_s output, context input and output, hidden units) need more
# resolution than 12 bits: they carry the scales on to the fusion, and 1/8 steps of y
# would blur the context. Its layers have a fan-in of at most 2 x 12 or 4 (per channel), so 16
# bits stay far from the accumulator's limit.
CONTEXT_BITS = 16
CONTEXT_TOP = 2 ** CONTEXT_BITS - 1
CONTEXT_SIGNED_TOP = 2 ** (CONTEXT_BITS - 1) - 1
SIGNED_OUT_TOP = 2 ** (OUT_BITS - 1) - 1  # the last layer: scales and signed means (context model)


def geometry(layer):
    """(kernel, stride, padding, transposed, groups) of a Conv2d or ConvTranspose2d."""
    return (layer.kernel_size[0], layer.stride[0], layer.padding[0], isinstance(layer, nn.ConvTranspose2d),
            layer.groups)


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


class QuantizedLayer:
    """One layer's integer weights; the output's fixed-point position is settled by tensors().

    a_in is the inputs' number of fractional bits: one number, or (convolutions) one per input
    channel of a group, when the inputs of a layer come from different places (the context
    model's (hyper feature, context) pairs). Each output channel's accumulator has its own
    fixed-point position acc[o]; weight (o, j) is stored as w * 2^(acc[o] - a_in[j])."""

    def __init__(self, layer, a_in, in_abs_max, act_max, out_top, weight=None):
        self.layer, self.out_top = layer, out_top
        k, stride, _, transposed, _ = geometry(layer)
        w = (layer.weight if weight is None else weight).detach().double()
        b = layer.bias.detach().double()
        w_top = 2 ** (WEIGHT_BITS - 1) - 1
        if transposed:  # [in, out, k, k]: one input position for every channel
            per_out = w.abs().amax(dim=(0, 2, 3))
            acc = torch.floor(torch.log2(w_top / per_out.clamp(min=1e-12))).long() + a_in
            frac_in = torch.full((w.shape[0],), a_in, dtype=torch.long).view(-1, 1, 1, 1)
            to_out = lambda v: v.view(1, -1, 1, 1)  # noqa: E731
        else:  # [out, in / groups, k, k]
            frac_in = torch.as_tensor(a_in, dtype=torch.long).expand(w.shape[1]).view(1, -1, 1, 1)
            per_oj = w.abs().amax(dim=(2, 3)).clamp(min=1e-12)
            acc = (torch.floor(torch.log2(w_top / per_oj)).long() + frac_in.view(1, -1)).min(dim=1).values
            to_out = lambda v: v.view(-1, 1, 1, 1)  # noqa: E731
        # the accumulator bound: |bias| + sum |w| * max|x| must fit in an i32
        while True:
            w_int = torch.round(w * 2.0 ** (to_out(acc) - frac_in))
            b_int = torch.round(b * 2.0 ** acc)
            bad = b_int.abs() + _max_fan_in_abs(w_int, transposed, stride) * in_abs_max > ACC_LIMIT
            if not bad.any():
                break
            acc = acc - bad.long()
        self.w_int, self.b_int, self.acc = w_int, b_int, acc
        # The output keeps at most the fractional bits the product has (a right shift only): with
        # small activations and large weights that means fewer than the range would allow.
        wanted = int(math.floor(math.log2(out_top / max(act_max * 1.25, 1e-6))))
        self.a_out = min(wanted, int(acc.min()))

    def tensors(self, prefix, relu, a_out=None):
        a_out = self.a_out if a_out is None else a_out
        k, stride, pad, transposed, groups = geometry(self.layer)
        return {
            f"{prefix}.weight": self.w_int.to(torch.int32),
            f"{prefix}.bias": self.b_int.to(torch.int32),
            f"{prefix}.shift": (self.acc - a_out).to(torch.int32),
            f"{prefix}.act_max": torch.tensor([self.out_top], dtype=torch.int32),
            f"{prefix}.geometry": torch.tensor([k, stride, pad, int(transposed), int(relu), groups],
                                               dtype=torch.int32),
        }


# h_s's geometry in weight files written before layers carried theirs
H_S_GEOMETRY = {"h_s_int.0": (5, 2, 2, 1, 1, 1), "h_s_int.2": (5, 2, 2, 1, 1, 1),
                "h_s_int.4": (3, 1, 1, 0, 1, 1)}


def run_layer(x, tensors, prefix):
    """One integer layer on a float64 tensor of integers (exact)."""
    geometry = tensors.get(f"{prefix}.geometry")
    geometry = H_S_GEOMETRY[prefix] if geometry is None else geometry
    k, stride, pad, transposed, relu, groups = (int(v) for v in geometry)
    w = tensors[f"{prefix}.weight"].double()
    b = tensors[f"{prefix}.bias"].double()
    sh = tensors[f"{prefix}.shift"].long().view(1, -1, 1, 1)
    if transposed:
        acc = F.conv_transpose2d(x, w, b, stride=stride, padding=pad, output_padding=stride - 1)
    else:
        acc = F.conv2d(x, w, b, stride=stride, padding=pad, groups=groups)
    top = int(tensors[f"{prefix}.act_max"][0])
    out = (acc.long() + ((1 << sh) >> 1)) >> sh
    return out.clamp(0 if relu else -top - 1, top).double()


def rshift_round(v, s):
    """(v + 2^(s-1)) >> s on integer tensors (s >= 0)."""
    return (v + ((1 << s) >> 1)) >> s if s > 0 else v


H_S = ("h_s_int.0", "h_s_int.2", "h_s_int.4")
H_S_LAYERS = (0, 2, 4)
CONTEXT = "context_prediction_int"
MAGNITUDE = "context_magnitude_int"
EP = ("entropy_parameters_int.0", "entropy_parameters_int.2")
ANCHOR_EP = ("anchor_parameters_int.0", "anchor_parameters_int.2")


def run_h_s(tensors, z_symbols):
    """The integer h_s on z symbols (round(z - median)): the last layer's integers."""
    in_frac = int(tensors["h_s_int.input_frac_bits"][0])
    lo, hi = -SIGNED_TOP - 1, SIGNED_TOP
    x = (z_symbols.double() * 2 ** in_frac + tensors["h_s_int.medians"].double().view(1, -1, 1, 1)).clamp(lo, hi)
    for prefix in H_S:
        x = run_layer(x, tensors, prefix)
    return x


def scale_indexes_of(tensors, fixed_scales):
    thr = tensors["h_s_int.thresholds"].long()
    return (fixed_scales.long().unsqueeze(-1) > thr.view(1, 1, 1, 1, -1)).sum(-1)


def context_input(tensors, symbols, means, anchors):
    """The decoded anchors as the context's fixed-point input: (clamp(symbol) << f) + the mean
    rounded to f fractional bits, clamped to CONTEXT_BITS signed; zero at the other positions."""
    f = int(tensors[f"{CONTEXT}.input_frac_bits"][0])
    a_p = int(tensors["entropy_parameters_int.output_frac_bits"][0])
    s = symbols.long().clamp(-CONTEXT_SIGNED_TOP - 1, CONTEXT_SIGNED_TOP)
    x = (s << f) + rshift_round(means.long(), a_p - f)
    return x.clamp(-CONTEXT_SIGNED_TOP - 1, CONTEXT_SIGNED_TOP).double() * anchors


def run_entropy_parameters(tensors, prefixes, hyper, ctx, magnitude):
    """Scales (fixed point) and means (fixed point, output_frac_bits): each channel's (hyper
    feature, context, magnitude context) side by side through the grouped layers `prefixes`,
    (scale, mean) side by side out."""
    x = run_layer(torch.stack([hyper, ctx, magnitude], 2).flatten(1, 2), tensors, prefixes[0])
    out = run_layer(x, tensors, prefixes[1])
    return out[:, 0::2], out[:, 1::2]


@torch.no_grad()
def code_latents(tensors, y, z_symbols):
    """What the codec does with y (after the gain): returns (symbols, table indexes, means as
    integers with output_frac_bits fractional bits, or None for the scale model)."""
    hyper = run_h_s(tensors, z_symbols)
    if CONTEXT + ".weight" not in tensors:
        return torch.round(y), scale_indexes_of(tensors, hyper), None
    a_p = int(tensors["entropy_parameters_int.output_frac_bits"][0])
    anchors = anchor_mask(y.shape[2], y.shape[3])
    zeros = torch.zeros_like(hyper)
    s1, m1 = run_entropy_parameters(tensors, ANCHOR_EP, hyper, zeros, zeros)
    sym1 = torch.round(y - m1 / 2 ** a_p)
    ctx_in = context_input(tensors, sym1, m1, anchors)
    ctx = run_layer(ctx_in, tensors, CONTEXT)
    magnitude = run_layer(ctx_in.abs().clamp(max=CONTEXT_SIGNED_TOP), tensors, MAGNITUDE)
    s2, m2 = run_entropy_parameters(tensors, EP, hyper, ctx, magnitude)
    sym2 = torch.round(y - m2 / 2 ** a_p)
    pick = anchors.bool()
    symbols = torch.where(pick, sym1, sym2)
    return symbols, scale_indexes_of(tensors, torch.where(pick, s1, s2)), torch.where(pick, m1, m2)


@torch.no_grad()
def calibrate(model, images, crops=48, crop=256, seed=7):
    """Post-training quantization of every network that decides indexes or means, calibrated on
    training crops at every quality. Returns the integer tensors for the weight file."""
    model.eval().update_tables()
    sampler = CropSampler(images, crop, seed)
    medians = model.entropy_bottleneck.quantiles[:, 0, 1].detach()
    levels = model.y_gain_log.shape[0]
    peak = {k: 0.0 for k in ("z", "h_s.0", "h_s.2", "h_s.4", "ctx_in", "ctx", "mag", "ep.0", "ep.2",
                             "anchor.0", "anchor.2")}

    def seen(key, t):
        peak[key] = max(peak[key], float(t.abs().max()))

    for i in range(crops):
        x = sampler.batch(1)
        y, z = model.analysis(x, i % levels)
        z_hat = torch.round(z - medians.view(1, -1, 1, 1)) + medians.view(1, -1, 1, 1)
        seen("z", z_hat)
        h = z_hat
        for li in H_S_LAYERS:
            h = torch.relu(model.h_s[li](h))
            seen(f"h_s.{li}", h)
        if model.context:
            anchors = anchor_mask(y.shape[2], y.shape[3])
            for net, key in ((model.anchor_parameters, "anchor"), (model.entropy_parameters, "ep")):
                if key == "anchor":  # anchors: no context
                    ctx = mag = torch.zeros_like(y)
                else:  # the other half: the context of the decoded anchors
                    ctx_in = (torch.round(y - m) + m) * anchors
                    seen("ctx_in", ctx_in)
                    ctx = model.context_prediction(ctx_in)
                    seen("ctx", ctx)
                    mag = model.context_magnitude(ctx_in.abs())  # the clamp of the integer input is moot here
                    seen("mag", mag)
                e = torch.relu(net[0](torch.stack([h, ctx, mag], 2).flatten(1, 2)))
                seen(f"{key}.0", e)
                p = net[2](e)
                seen(f"{key}.2", p)
                m = p[:, 1::2]

    in_frac = int(math.floor(math.log2(SIGNED_TOP / max(peak["z"] * 1.25, 1e-3))))
    tensors = {
        "h_s_int.input_frac_bits": torch.tensor([in_frac], dtype=torch.int32),
        "h_s_int.medians": torch.round(medians.double() * 2 ** in_frac).to(torch.int32),
    }
    a_in, in_abs_max = in_frac, SIGNED_TOP + 1
    quantized = []
    for li in H_S_LAYERS:
        last = li == H_S_LAYERS[-1]
        top = ACT_TOP if not last else (CONTEXT_TOP if model.context else OUT_TOP)
        q = QuantizedLayer(model.h_s[li], a_in, in_abs_max, peak[f"h_s.{li}"], top)
        quantized.append(q)
        a_in, in_abs_max = q.a_out, top + 1
    if not model.context:
        for li, q in zip(H_S_LAYERS, quantized):
            tensors.update(q.tensors(f"h_s_int.{li}", relu=True))
        bounds = scale_boundaries(model.gaussian_conditional.scale_table)
        tensors["h_s_int.thresholds"] = torch.floor(bounds * 2 ** a_in).clamp(max=ACC_LIMIT).to(torch.int32)
        return tensors

    for li, q in zip(H_S_LAYERS, quantized):
        tensors.update(q.tensors(f"h_s_int.{li}", relu=True))
    # the context's input: decoded anchors with f fractional bits
    ctx_frac = int(math.floor(math.log2(CONTEXT_SIGNED_TOP / max(peak["ctx_in"] * 1.25, 1e-3))))
    ctx_layer = model.context_prediction
    ctx_q = QuantizedLayer(ctx_layer, ctx_frac, CONTEXT_SIGNED_TOP + 1, peak["ctx"], CONTEXT_SIGNED_TOP,
                           weight=ctx_layer.weight * ctx_layer.mask)
    tensors.update(ctx_q.tensors(CONTEXT, relu=False))
    tensors[f"{CONTEXT}.input_frac_bits"] = torch.tensor([ctx_frac], dtype=torch.int32)
    mag_layer = model.context_magnitude
    mag_q = QuantizedLayer(mag_layer, ctx_frac, CONTEXT_SIGNED_TOP + 1, peak["mag"], CONTEXT_SIGNED_TOP,
                           weight=mag_layer.weight * mag_layer.mask)
    tensors.update(mag_q.tensors(MAGNITUDE, relu=False))
    # each channel's (hyper feature, context, magnitude) triple: three fixed-point positions
    triple = [quantized[-1].a_out, ctx_q.a_out, mag_q.a_out]
    # both fusion networks end at one fixed-point position: the means feed the context
    fused = []
    for net, key in ((model.anchor_parameters, "anchor"), (model.entropy_parameters, "ep")):
        first = QuantizedLayer(net[0], triple, CONTEXT_TOP + 1, peak[f"{key}.0"], CONTEXT_TOP)
        last = QuantizedLayer(net[2], first.a_out, CONTEXT_TOP + 1, peak[f"{key}.2"], SIGNED_OUT_TOP)
        fused.append((first, last))
    a_p = min(last.a_out for _, last in fused)
    if a_p < ctx_frac:  # the context input takes the mean's top ctx_frac fractional bits
        raise SystemExit(f"means have {a_p} fractional bits, fewer than the context input's {ctx_frac}")
    for (first, last), prefixes in zip(fused, (ANCHOR_EP, EP)):
        tensors.update(first.tensors(prefixes[0], relu=True))
        tensors.update(last.tensors(prefixes[1], relu=False, a_out=a_p))
    tensors["entropy_parameters_int.output_frac_bits"] = torch.tensor([a_p], dtype=torch.int32)
    bounds = scale_boundaries(model.gaussian_conditional.scale_table)
    tensors["h_s_int.thresholds"] = torch.floor(bounds * 2 ** a_p).clamp(max=ACC_LIMIT).to(torch.int32)
    return tensors
