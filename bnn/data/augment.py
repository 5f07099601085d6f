"""Batched training augmentation on the device (docs/methods.md §0.7): random crop with padding (zeros as
torchvision's RandomCrop(32, padding=4), or edge as SKD) and horizontal flip, applied to a whole batch of
0..1 images before normalisation, with a seeded generator on the batch's device. No per-sample Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch.nn import functional as F

from bnn.config.fields import Boolean, Choice, Integer, Section, setting

PADDING_MODES = {"zeros": "constant", "edge": "replicate"}


def crop(
    x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, padding: int, padding_mode: str = "zeros"
) -> torch.Tensor:
    """Pad ``x`` (N, C, H, W) by ``padding`` on every side and cut each image's H x W window at its own
    (``top``, ``left``) offset in the padded image (offsets 0..2*padding; ``padding`` is no shift)."""
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4, mode=PADDING_MODES[padding_mode])
    rows = (top.view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (left.view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    return padded[
        torch.arange(n, device=x.device).view(n, 1, 1, 1), torch.arange(c, device=x.device).view(1, c, 1, 1), rows, cols
    ]


@dataclass(frozen=True)
class Augment(Section):
    """The ``augment`` stage setting: ``{crop: padding, flip: bool, padding_mode: zeros|edge}``."""

    default_key: ClassVar[str] = "augment"

    crop: int = setting(0, Integer(0), "random crop after padding by this many pixels")
    flip: bool = setting(False, Boolean(), "random horizontal flip")
    padding_mode: str = setting("zeros", Choice(tuple(PADDING_MODES)), "padding of the crop: zeros or edge (SKD-BNN)")

    def __bool__(self) -> bool:
        return self.crop > 0 or self.flip

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment a batch ``x`` (N, C, H, W) of 0..1 images; ``generator`` lives on ``x.device``."""
        n = len(x)
        if self.crop:
            top, left = torch.randint(0, 2 * self.crop + 1, (2, n), generator=generator, device=x.device)
            x = crop(x, top, left, self.crop, self.padding_mode)
        if self.flip:
            mirror = torch.rand(n, generator=generator, device=x.device) < 0.5
            x = torch.where(mirror.view(n, 1, 1, 1), x.flip(3), x)
        return x
