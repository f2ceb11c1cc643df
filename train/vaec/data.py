"""Training pictures, random crops, and picture loading."""
import glob
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .paths import DATA

# The repository's sample image (examples/data/seeding.png) is cut from this photo: never train on it.
EXCLUDE = {"lomiri_seeding_by_Clements_Engelhardt.jpg"}


def pad64(x, multiple=64):
    """Replicate-pad an NCHW tensor to a multiple of 64 (what the Rust engine does)."""
    h, w = x.shape[2], x.shape[3]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if (ph or pw) else x


def load_rgb(path):
    """A picture as a float NCHW tensor in 0..1."""
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"))).permute(2, 0, 1).float()[None] / 255.0


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
    """Random crops with horizontal flips, pictures drawn in proportion to their area."""

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
