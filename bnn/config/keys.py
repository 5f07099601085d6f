"""Config keys: unknown keys refused in one line, with a did-you-mean hint."""

from __future__ import annotations

import difflib

from bnn.errors import BnnError


def did_you_mean(name: object, known: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(mapping: dict, known: list[str] | tuple[str, ...], key: str, what: str = "key") -> None:
    """A one-line error for the first key of ``mapping`` not in ``known``, with a close-match hint."""
    for name in mapping:
        if name not in known:
            where = f"{key}.{name}" if key else str(name)
            raise BnnError(f"{where}: unknown {what}{did_you_mean(name, known)}; known: {', '.join(known)}")
