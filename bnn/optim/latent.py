"""Latent weights of a split optimizer's binary group (docs/methods.md §0.4, §2.2): where they start and their clip.

``latent: {init: weights | zeros, clip: c | null}`` on ``optimizer.binary`` when that is a real-valued optimizer
(sgd, adam, ...) updating the latent weights whose signs are the binary weights:

* ``init: weights`` (default): the latent starts from the layer's initial weights (BinaryNet, BNP);
  ``init: zeros``: the first forward uses the signs of the initial weights, and the latent is set to zero right
  before the first update, so from then on it is the accumulated update (SGDAT's ``org``, §2.2 [QUIRK]);
* ``clip: c``: after every step the latent is clamped to [-c, c] (BinaryNet and SGDAT: 1.0); default none.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bnn.config.keys import check_keys
from bnn.errors import BnnError

INITS = ("weights", "zeros")


@dataclass(frozen=True)
class Latent:
    init: str = "weights"
    clip: float | None = None

    @classmethod
    def parse(cls, value, key: str) -> Latent:
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be a mapping {{init: weights|zeros, clip: c}}")
        check_keys(value, ["init", "clip"], key)
        init, clip = value.get("init", "weights"), value.get("clip")
        if init not in INITS:
            raise BnnError(f"{key}.init: {init!r} must be one of {', '.join(INITS)}")
        if clip is not None and (isinstance(clip, bool) or not isinstance(clip, (int, float)) or clip <= 0):
            raise BnnError(
                f"{key}.clip: {clip!r} must be a number > 0 (the latent is clamped to [-clip, clip]) or null"
            )
        return cls(init, None if clip is None else float(clip))


class LatentWeights:
    """Applies a :class:`Latent` setting around the steps of the optimizer of ``params``."""

    def __init__(self, setting: Latent, params: list[torch.nn.Parameter]):
        self.setting, self.params = setting, params
        self.started = False

    @torch.no_grad()
    def before_step(self) -> None:
        if self.setting.init == "zeros" and not self.started:
            for p in self.params:
                p.zero_()
        self.started = True

    @torch.no_grad()
    def after_step(self) -> None:
        if self.setting.clip is not None:
            for p in self.params:
                p.clamp_(-self.setting.clip, self.setting.clip)

    def state_dict(self) -> dict:
        return {"started": self.started}

    def load_state_dict(self, state: dict) -> None:
        self.started = bool(state.get("started", False))
