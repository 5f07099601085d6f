"""Progress within an epoch (issue 13): a ``tqdm`` bar (batches, images/s, running loss) when the output is a
terminal, else a line every ``progress.interval`` seconds (a Snakemake job's ``train.log``), so a long stage is
seen to move. The running loss is read from the device only when shown, never per batch.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

BAR_REFRESH_SECONDS = 1.0


class EpochProgress:
    """Reports one epoch's batches; ``update`` is called after every batch with a way to read the running loss."""

    def __init__(self, label: str, batches: int, interval: float, stream=None):
        self.label, self.batches, self.interval = label, batches, interval
        self.stream = stream or sys.stdout
        self.start = self.last = time.monotonic()
        self.bar = None
        if interval > 0 and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=batches, desc=label, unit="batch", leave=False, file=self.stream, dynamic_ncols=True)

    def update(self, batch: int, images: int, running_loss: Callable[[], float]) -> bool:
        """After batch ``batch`` (0-based), ``images`` seen so far; True when the host read the loss (a sync)."""
        now = time.monotonic()
        if self.bar is not None:
            self.bar.update(1)
            if now - self.last < BAR_REFRESH_SECONDS:
                return False
            self.bar.set_postfix(img_s=f"{images / (now - self.start):.0f}", loss=f"{running_loss():.4f}")
        elif self.interval > 0 and now - self.last >= self.interval and batch + 1 < self.batches:
            print(
                f"[{self.label}] batch {batch + 1}/{self.batches} ({100 * (batch + 1) / self.batches:.0f}%) "
                f"{images / (now - self.start):.0f} img/s loss {running_loss():.4f}",
                file=self.stream,
                flush=True,
            )
        else:
            return False
        self.last = now
        return True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
