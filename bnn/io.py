"""Atomic file writes and safe checkpoint loading (docs/architecture.md, "Reliability principles").

Every declared output is written to a temporary name in the same folder and renamed, so a killed
job never leaves a file that looks complete. Checkpoints are read with ``weights_only=True``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import yaml

from bnn.errors import BnnError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, flag: str) -> Iterator[Path]:
    """Yield an empty staging folder beside the folder ``path``; only if the block succeeds does it take
    ``path``'s place (an earlier folder there is replaced), so ``path`` appears complete or not at all.
    ``flag``: the option that named ``path``, for the one-line error when it cannot be a folder."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise BnnError(f"{flag}: {target} is a file, not a folder; give a folder path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise BnnError(f"{flag}: cannot create a folder beside {target} ({why}); give a writable path") from None
    old = None
    try:
        yield staging
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / target.name)
        os.replace(staging, target)
    finally:
        for leftover in (staging, old):
            if leftover is not None and leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_yaml(path: str | os.PathLike, data: Any) -> None:
    write_text(path, yaml.safe_dump(data, sort_keys=False))


def write_csv(path: str | os.PathLike, rows: list[dict[str, Any]], columns: list[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_frame(path: str | os.PathLike, frame) -> None:
    """A pandas DataFrame as CSV, without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: str | os.PathLike, what: str = "checkpoint") -> Any:
    """Load plain tensors and containers only; anything else is refused with a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise BnnError(f"{what} {path} does not exist; run the stage that writes it first")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError/RuntimeError with multi-line text
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BnnError(
            f"{what} {path} is not a plain-tensor torch file ({first}); "
            "re-create it with bnn, which saves tensors and plain containers only"
        ) from None


def read_config(path_or_text: str) -> dict[str, Any]:
    """Read a spec: inline JSON when it starts with '{', else a YAML/JSON file path."""
    if path_or_text.lstrip().startswith("{"):
        try:
            data = json.loads(path_or_text)
        except json.JSONDecodeError as exc:
            raise BnnError(f"--spec: inline JSON does not parse ({exc})") from None
    else:
        path = Path(path_or_text)
        if not path.is_file():
            raise BnnError(f"--spec {path_or_text}: no such file; give a spec.yaml path or inline JSON")
        data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise BnnError(f"--spec: expected a mapping, got {type(data).__name__}")
    return data
