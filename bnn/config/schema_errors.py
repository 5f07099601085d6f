"""One-line messages for config schema violations: ``key.path: bad value, and what would be valid``."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the error comes from snakemake.utils.validate; bnn needs only its attributes
    from jsonschema.exceptions import ValidationError


def key_path(parts) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "config"


def _looks_numeric(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def schema_error_line(error: ValidationError) -> str:
    """Describe a jsonschema error in one line that names the key path and the fix."""
    where = key_path(error.absolute_path)
    message = error.message
    if error.validator in ("oneOf", "anyOf"):
        expected = error.schema.get("description", "one of the allowed forms")
        message = f"{error.instance!r} is not valid; expected {expected}"
    elif error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(known))
        hints = [
            f"{k!r} (did you mean {difflib.get_close_matches(k, known, n=1)[0]!r}?)"
            if difflib.get_close_matches(k, known, n=1)
            else repr(k)
            for k in unexpected
        ]
        message = f"unknown key {', '.join(hints)}; known keys: {', '.join(known)}"
    elif error.validator == "type" and isinstance(error.instance, str) and _looks_numeric(error.instance):
        message += f" (YAML reads {error.instance} as text: write it with a dot, e.g. {float(error.instance)!r})"
    message = " ".join(message.split())
    return f"{where}: {message}" if error.absolute_path else message
