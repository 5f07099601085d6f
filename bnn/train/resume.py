"""Per-epoch resume state of a stage (docs/architecture.md, "Reliability principles").

``resume.pt`` sits in the run folder but is not a declared Snakemake output, so it survives a killed
job (Snakemake deletes the declared outputs of a failed job). It holds everything the next epoch
needs: model, optimizer(s) and lr-schedule state, the loss's state (SKD-BNN's soft-label bank), the torch
RNG state, and the metrics rows so far.
It is tied to the stage spec by a digest: a changed spec starts afresh. It is removed once the
stage's final checkpoint is written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from bnn.config.spec import StageSpec
from bnn.io import load_torch, save_torch
from bnn.plan.layout import RESUME as FILENAME


def spec_digest(spec: StageSpec) -> str:
    """What the stage computes (its speed-only keys left out: a resumed stage may run with other threads)."""
    return hashlib.sha256(json.dumps(spec.result_dict(), sort_keys=True).encode()).hexdigest()


def save(run_dir: Path, spec: StageSpec, epoch: int, model, optimizers, loss, rows: list[dict]) -> None:
    """Record that ``epoch`` epochs are complete."""
    save_torch(
        run_dir / FILENAME,
        {
            "spec_digest": spec_digest(spec),
            "epochs_done": epoch,
            "model": model.state_dict(),
            "optimizers": optimizers.state_dict(),
            "loss": loss.state_dict(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "rows": rows,
        },
    )


def restore(run_dir: Path, spec: StageSpec, model, optimizers, loss) -> tuple[int, list[dict], str]:
    """Load the resume state if it belongs to this spec; returns (epochs done, rows, what happened)."""
    path = run_dir / FILENAME
    if not path.is_file():
        return 0, [], ""
    state = load_torch(path, "resume state")
    if state.get("spec_digest") != spec_digest(spec):
        path.unlink()
        return 0, [], f"ignored {path}: it was written for a different spec; starting from epoch 1"
    model.load_state_dict(state["model"])
    optimizers.load_state_dict(state["optimizers"])
    loss.load_state_dict(state["loss"])
    torch.set_rng_state(state["rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    done = int(state["epochs_done"])
    return done, list(state["rows"]), f"resuming from epoch {done + 1} ({path}: {done} epochs done)"


def clear(run_dir: Path) -> None:
    (run_dir / FILENAME).unlink(missing_ok=True)
