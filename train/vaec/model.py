"""The model: CompressAI's scale hyperprior (same module names) with per-lambda gain vectors on y,
and optionally a mean-scale checkerboard context (He et al. 2021) on top of it.

    g_a: conv5x5/2 GDN x3, conv5x5/2 -> y          g_s: the mirror image with IGDN
    h_a: on |y| -> z, factorized prior
    h_s: z_hat -> M scales (scale model) or M hyper features (context model)
    context model only, per channel of y (He et al.'s checkerboard with a channel-wise context):
    context_prediction and context_magnitude, 5x5 checkerboard-masked depthwise convs over the
    decoded anchors and over their magnitudes, and entropy_parameters, two grouped 1x1 convs that
    map (hyper feature, context, magnitude context) of each channel through HIDDEN units to its
    (scale, mean); anchor_parameters, the same network for the anchors, which see contexts of 0. About 40 multiply-adds per element of y: nothing
    next to the transforms.
"""
import math

import torch
import torch.nn as nn
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import GDN, CheckerboardMaskedConv2d
from compressai.models.utils import conv, deconv

# Training lambdas, quality 1..10: quality q of vaec-gpu is gain vector q-1. Qualities 3..10 are
# CompressAI's lambdas for its MSE models; 1 and 2 continue the series (x1/1.94 each) down to
# about 0.1 bpp on Kodak, where CompressAI's lowest lambda leaves this smaller model at 0.2 bpp.
LAMBDAS = [0.00048, 0.00093, 0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800]
# CompressAI's Gaussian scale table: 64 log-spaced scales from 0.11 to 256.
SCALES_MIN, SCALES_MAX, SCALES_LEVELS = 0.11, 256.0, 64
# Hidden units per channel of the context model's entropy-parameter network.
HIDDEN = 4
# Buffers of CompressAI's entropy models that update_tables() derives from the parameters.
TABLE_KEYS = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")


def scale_table():
    return torch.exp(torch.linspace(math.log(SCALES_MIN), math.log(SCALES_MAX), SCALES_LEVELS))


def scale_boundaries(table):
    """Where the scale index steps up: the geometric midpoints between neighbouring table scales.

    CompressAI's build_indexes rounds a scale up to the next table entry, which costs 2-4% of
    the bits of y on Kodak with this table (ratio 1.13 between entries); rounding to the nearest
    entry in log space costs under 0.1%. The integer networks compare against these boundaries.
    """
    table = table.double()
    return torch.sqrt(table[:-1] * table[1:])


def ste_round(x):
    """round(x) forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def anchor_mask(h, w, device=None):
    """1 where (row + column) is even: the checkerboard's anchors, coded first."""
    r = torch.arange(h, device=device).view(-1, 1)
    c = torch.arange(w, device=device).view(1, -1)
    return ((r + c) % 2 == 0).float().view(1, 1, h, w)


class GainedHyperprior(nn.Module):
    """CompressAI ScaleHyperprior (same module names) with per-lambda gain vectors on y;
    context=True adds the mean-scale checkerboard context model."""

    def __init__(self, N, M, levels=len(LAMBDAS), context=False):
        super().__init__()
        self.N, self.M, self.context = N, M, context
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
        if context:
            self.context_prediction = CheckerboardMaskedConv2d(M, M, kernel_size=5, padding=2, groups=M)
            self.context_magnitude = CheckerboardMaskedConv2d(M, M, kernel_size=5, padding=2, groups=M)
            # one fusion network for the anchors (contexts 0), one for the others
            self.anchor_parameters, self.entropy_parameters = (nn.Sequential(
                nn.Conv2d(3 * M, HIDDEN * M, 1, groups=M), nn.ReLU(inplace=True),
                nn.Conv2d(HIDDEN * M, 2 * M, 1, groups=M)) for _ in range(2))
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

    # Training options (the trainer sets them; evaluation, export and the reference keep the defaults).
    # bf16: the four transforms run under bfloat16 autocast (1.75x faster steps on a Zen 4 CPU);
    # quantization and likelihoods stay in float32.
    bf16 = False
    # round_decoder: g_s sees round(y) with a straight-through gradient, as at decode time, while
    # the rate still comes from the noisy y (Minnen & Singh 2020); False: g_s sees the noisy y.
    round_decoder = False
    # frozen_transforms: g_a, g_s and the gains are not trained; y is computed without gradients
    # and g_s is skipped (the loss is the rate alone), which makes a step several times cheaper.
    frozen_transforms = False

    def _transform(self, net, x):
        if not self.bf16:
            return net(x)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return net(x).float()

    def hyper_input(self, y):
        return torch.abs(y)

    def analysis(self, x, q):
        """y (after the gain) and the hyperprior's z."""
        gain, _ = self.gains(q)
        if self.frozen_transforms:
            with torch.no_grad():
                y = self._transform(self.g_a, x) * gain
        else:
            y = self._transform(self.g_a, x) * gain
        return y, self._transform(self.h_a, self.hyper_input(y))

    @staticmethod
    def fuse(net, hyper, ctx, magnitude):
        """Each channel's (hyper feature, context, magnitude context) -> (scale, mean): the grouped
        layers see the inputs of a channel side by side and give its two outputs side by side."""
        out = net(torch.stack([hyper, ctx, magnitude], 2).flatten(1, 2))
        return out[:, 0::2], out[:, 1::2]

    def checkerboard(self, y, hyper):
        """Scales and means of every element of y: anchors from the hyperprior alone, the others
        from the hyperprior and the context over the decoded anchors (as the decoder sees them)."""
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        zeros = torch.zeros_like(y)
        s1, m1 = self.fuse(self.anchor_parameters, hyper, zeros, zeros)
        y_anchors = (ste_round(y - m1) + m1) * anchors
        s2, m2 = self.fuse(self.entropy_parameters, hyper, self.context_prediction(y_anchors),
                           self.context_magnitude(torch.abs(y_anchors)))
        return anchors * s1 + (1 - anchors) * s2, anchors * m1 + (1 - anchors) * m2

    def forward(self, x, q):
        y, z = self.analysis(x, q)
        return self._code(y, z, q)

    def forward_latent(self, y_raw, q):
        """The rate terms from y before the gain (a cached g_a output; frozen transforms only)."""
        gain, _ = self.gains(q)
        y = y_raw * gain
        return self._code(y, self._transform(self.h_a, self.hyper_input(y)), q)

    def _code(self, y, z, q):
        _, inv_gain = self.gains(q)
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        hyper = self._transform(self.h_s, z_hat)
        means = None
        if self.context:
            scales, means = self.checkerboard(y, hyper)
        else:
            scales = hyper
        y_hat, y_likelihoods = self.gaussian_conditional(y, scales, means)
        if self.training and self.frozen_transforms:
            return None, y_likelihoods, z_likelihoods
        if self.training and self.round_decoder:
            y_hat = ste_round(y - (0 if means is None else means)) + (0 if means is None else means)
        x_hat = self._transform(self.g_s, y_hat * inv_gain)
        return x_hat, y_likelihoods, z_likelihoods

    def aux_loss(self):
        return self.entropy_bottleneck.loss()

    @torch.no_grad()
    def update_tables(self):
        self.gaussian_conditional.update_scale_table(scale_table(), force=True)
        self.entropy_bottleneck.update(force=True)


# ---------------------------------------------------------------- growing a trained model


def _conv_module(model, key):
    return model.get_submodule(key.rsplit(".", 1)[0])


@torch.no_grad()
def widen(old, N, M, init_scale=0.05, seed=0):
    """A wider model that computes exactly what `old` computes (Net2Net-style growth).

    Every new channel gets the default initialisation times init_scale on its incoming weights,
    and its weights into the old channels of the next layer are zero, so the old outputs do not
    see it; GDN gets beta 1 and zero cross terms for new channels; new z channels get a fresh
    factorized density, new y channels the mean gain of the old ones."""
    if old.context:
        raise SystemExit("widen: widen the scale model, then add the context")
    if N < old.N or M < old.M:
        raise SystemExit(f"widen: {N}x{M} is narrower than the model's {old.N}x{old.M}")
    torch.manual_seed(seed)
    new = GainedHyperprior(N, M, old.y_gain_log.shape[0])
    sd_old, sd_new = old.state_dict(), new.state_dict()
    out = {}
    for k, n in sd_new.items():
        o = sd_old[k]
        if k.endswith(TABLE_KEYS):
            out[k] = n  # rebuilt by update_tables()
        elif o.shape == n.shape:
            out[k] = o.clone()
        elif k in ("y_gain_log", "y_inv_gain_log"):
            t = o.mean(dim=1, keepdim=True).repeat(1, n.shape[1])
            t[:, : o.shape[1]] = o
            out[k] = t
        elif isinstance(_conv_module(new, k), GDN):
            gdn_new, gdn_old = _conv_module(new, k), _conv_module(old, k)
            gamma = k.endswith(".gamma")
            par_new = gdn_new.gamma_reparam if gamma else gdn_new.beta_reparam
            par_old = gdn_old.gamma_reparam if gamma else gdn_old.beta_reparam
            eff = par_new(n).clone()  # default: beta 1, gamma 0.1 on the diagonal
            c = o.shape[0]
            if gamma:
                eff[:c, :] = 0  # old channels must not see new ones
                eff[:c, :c] = par_old(o)
            else:
                eff[:c] = par_old(o)
            out[k] = par_new.init(eff)
        elif k.startswith("entropy_bottleneck.") or k.endswith(".bias"):
            # per-channel density parameters keep their fresh values, new biases start at zero
            t = n.clone() if k.startswith("entropy_bottleneck.") else torch.zeros_like(n)
            t[: o.shape[0]] = o
            out[k] = t
        else:
            # a convolution weight: Conv2d is [out, in, k, k], ConvTranspose2d [in, out, k, k]
            t = n * init_scale
            t[: o.shape[0], : o.shape[1]] = o
            if isinstance(_conv_module(new, k), nn.ConvTranspose2d):
                t[o.shape[0]:, : o.shape[1]] = 0  # new inputs into old outputs
            else:
                t[: o.shape[0], o.shape[1]:] = 0
            out[k] = t
    new.load_state_dict(out)
    return new


@torch.no_grad()
def add_context(old):
    """The context model grown from a scale model: every trained part kept; the context starts as
    the mean of the four anchors next to each element (their distance-1 neighbours), and the
    entropy-parameter network passes h_s's output through as the scale, with hidden units
    relu(context) and relu(-context) giving the mean 0.5 * context (a guess the training corrects).
    Anchors see a context of 0, so they are coded exactly as by the scale model."""
    if old.context:
        raise SystemExit("add_context: the model has a context already")
    M = old.M
    new = GainedHyperprior(old.N, M, old.y_gain_log.shape[0], context=True)
    sd = new.state_dict()
    for k, v in old.state_dict().items():
        if not k.endswith(TABLE_KEYS):
            sd[k] = v.clone()
    w = torch.zeros(M, 1, 5, 5)
    for dy, dx in ((1, 2), (3, 2), (2, 1), (2, 3)):
        w[:, 0, dy, dx] = 0.25
    for name in ("context_prediction", "context_magnitude"):
        sd[f"{name}.weight"] = w.clone()
        sd[f"{name}.bias"].zero_()
    hidden = torch.zeros(M, HIDDEN, 3)
    hidden[:, 0, 0] = 1  # h0 = relu(hyper) = hyper (non-negative)
    hidden[:, 1, 1] = 1  # h1 = relu(context)
    hidden[:, 2, 1] = -1  # h2 = relu(-context)
    hidden[:, 3, 2] = 1  # h3 = the magnitude context (non-negative)
    out = torch.zeros(M, 2, HIDDEN)
    out[:, 0, 0] = 1  # scale = h0
    out[:, 1, 1], out[:, 1, 2] = 0.5, -0.5  # mean = (h1 - h2) / 2
    for net in ("anchor_parameters", "entropy_parameters"):
        sd[f"{net}.0.weight"] = hidden.reshape(M * HIDDEN, 3, 1, 1).clone()
        sd[f"{net}.0.bias"].zero_()
        sd[f"{net}.2.weight"] = out.reshape(2 * M, HIDDEN, 1, 1).clone()
        sd[f"{net}.2.bias"].zero_()
    new.load_state_dict(sd)
    return new
