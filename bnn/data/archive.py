"""Reading the members of a dataset as distributed without unpacking it: a folder, a ``.zip`` (random access)
or a ``.tar.gz`` (one streaming pass: a gzip stream cannot seek back cheaply). Members come in sorted name order,
named by their path inside the folder or archive."""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

ARCHIVES = (".zip", ".tar.gz")


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.endswith(ARCHIVES)


def members(path: Path, want: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file of ``path`` whose posix name (relative to ``path``) satisfies ``want``."""
    if path.is_dir():
        files = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file())
        for name, file in files:
            if want(name):
                yield name, file.read_bytes()
        return
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(n for n in archive.namelist() if not n.endswith("/") and want(n)):
                yield name, archive.read(name)
        return
    with tarfile.open(path, "r|gz") as archive:
        entries = [(m.name, archive.extractfile(m).read()) for m in archive if m.isfile() and want(m.name)]
    yield from sorted(entries)
