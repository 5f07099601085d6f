"""Declared config values: the one place a key's type, range, allowed values and meaning are written.

A :class:`Field` parses a value (a one-line error that names the key, the bad value and what is allowed), writes
its JSON-schema form (the workflow's ``config.schema.yaml`` is generated from these, :mod:`bnn.config.schema`)
and gives valid and invalid examples, so a test can check that the schema and the parser agree on every key.
A :class:`Section` is a frozen dataclass whose fields are declared with :func:`setting`: it parses a mapping
(unknown keys refused with a did-you-mean hint) into itself.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from bnn.config.keys import check_keys
from bnn.errors import BnnError


def _numeric_text(value: Any) -> str:
    """A hint for a number YAML read as text (``1e-3`` without a dot is a string in YAML 1.1)."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return ""
        if math.isfinite(number):
            return f" (YAML reads {value} as text: write it with a dot, e.g. {number!r})"
    return ""


class Field(ABC):
    """A declared value: ``parse``, ``schema`` and ``examples`` (valid values, invalid values)."""

    description: str = ""

    @abstractmethod
    def parse(self, value: Any, key: str) -> Any:
        """The typed value, or a one-line BnnError naming ``key``, ``value`` and the allowed form."""

    @abstractmethod
    def json_schema(self) -> dict:
        """The JSON-schema form of the value (without its description)."""

    def schema(self) -> dict:
        form = self.json_schema()
        return {"description": self.description, **form} if self.description else form

    @abstractmethod
    def examples(self) -> tuple[list, list]:
        """(valid values, invalid values) for the schema/parser agreement test."""

    @abstractmethod
    def form(self) -> str:
        """What a valid value looks like, in words (error messages and descriptions)."""


@dataclass(frozen=True)
class Integer(Field):
    minimum: int | None = 0
    nullable: bool = False
    description: str = ""

    def form(self) -> str:
        bound = f" >= {self.minimum}" if self.minimum is not None else ""
        return f"an integer{bound}" + (" or null" if self.nullable else "")

    def parse(self, value: Any, key: str) -> int | None:
        if value is None and self.nullable:
            return None
        low = self.minimum is None or (isinstance(value, int) and value >= self.minimum)
        if isinstance(value, bool) or not isinstance(value, int) or not low:
            raise BnnError(f"{key}: {value!r} must be {self.form()}{_numeric_text(value)}")
        return value

    def json_schema(self) -> dict:
        form: dict = {"type": ["integer", "null"] if self.nullable else "integer"}
        return form if self.minimum is None else {**form, "minimum": self.minimum}

    def examples(self) -> tuple[list, list]:
        low = 0 if self.minimum is None else self.minimum
        below = [] if self.minimum is None else [self.minimum - 1]
        return [low, low + 3], [*below, 2.5, "3", True]


@dataclass(frozen=True)
class Number(Field):
    """A real number with optional bounds; ``minimum``/``maximum`` inclusive unless ``exclusive_*``."""

    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None
    exclusive_maximum: bool = False
    description: str = ""

    def form(self) -> str:
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"{'<' if self.exclusive_maximum else '<='} {self.maximum:g}")
        return "a number" + (f" {' and '.join(bounds)}" if bounds else "")

    def _inside(self, value: float) -> bool:
        low = self.minimum is None or (value > self.minimum if self.exclusive_minimum else value >= self.minimum)
        high = self.maximum is None or (value < self.maximum if self.exclusive_maximum else value <= self.maximum)
        return low and high

    def parse(self, value: Any, key: str) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self._inside(value):
            raise BnnError(f"{key}: {value!r} must be {self.form()}{_numeric_text(value)}")
        return value

    def json_schema(self) -> dict:
        form: dict = {"type": "number"}
        if self.minimum is not None:
            form["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            form["exclusiveMaximum" if self.exclusive_maximum else "maximum"] = self.maximum
        return form

    def examples(self) -> tuple[list, list]:
        low = 0.0 if self.minimum is None else self.minimum
        high = low + 1.0 if self.maximum is None else self.maximum
        middle = (low + high) / 2
        invalid: list = ["fast", True]
        if self.minimum is not None:
            invalid.append(self.minimum if self.exclusive_minimum else self.minimum - 1)
        if self.maximum is not None:
            invalid.append(self.maximum if self.exclusive_maximum else self.maximum + 1)
        return [middle], invalid


@dataclass(frozen=True)
class Boolean(Field):
    description: str = ""

    def form(self) -> str:
        return "true or false"

    def parse(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise BnnError(f"{key}: {value!r} must be true or false")
        return value

    def json_schema(self) -> dict:
        return {"type": "boolean"}

    def examples(self) -> tuple[list, list]:
        return [True, False], [1, "yes"]


@dataclass(frozen=True)
class Choice(Field):
    values: tuple = ()
    description: str = ""

    def form(self) -> str:
        return "one of " + ", ".join(str(v) for v in self.values)

    def parse(self, value: Any, key: str) -> Any:
        if isinstance(value, bool) or value not in self.values:
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        return value

    def json_schema(self) -> dict:
        return {"enum": list(self.values)}

    def examples(self) -> tuple[list, list]:
        return list(self.values), ["not-a-choice", None]


@dataclass(frozen=True)
class Text(Field):
    """A string; ``pattern`` (a regular expression, JSON-schema style) with ``pattern_form`` saying it in words."""

    pattern: str | None = None
    pattern_form: str = ""
    nullable: bool = False
    description: str = ""
    example: str = "name_1"  # a value that matches ``pattern``

    def form(self) -> str:
        return (self.pattern_form or "a string") + (" or null" if self.nullable else "")

    def parse(self, value: Any, key: str) -> str | None:
        if value is None and self.nullable:
            return None
        if not isinstance(value, str) or (self.pattern and not re.search(self.pattern, value)):
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        return value

    def json_schema(self) -> dict:
        form: dict = {"type": ["string", "null"] if self.nullable else "string"}
        return {**form, "pattern": self.pattern} if self.pattern else form

    def examples(self) -> tuple[list, list]:
        return [self.example], [3, *(["has space/slash"] if self.pattern else [])]


NAME = Text(r"^[A-Za-z0-9_.-]+$", "a name (letters, digits, _ . -)")


@dataclass(frozen=True)
class ListOf(Field):
    item: Field = NAME
    min_items: int = 1
    description: str = ""

    def form(self) -> str:
        return f"a list, each {self.item.form()}" + (", of at least one" if self.min_items else "")

    def parse(self, value: Any, key: str) -> tuple:
        if not isinstance(value, list) or len(value) < self.min_items:
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        return tuple(self.item.parse(v, f"{key}[{i}]") for i, v in enumerate(value))

    def json_schema(self) -> dict:
        return {"type": "array", "minItems": self.min_items, "items": self.item.schema()}

    def examples(self) -> tuple[list, list]:
        valid, invalid = self.item.examples()
        return [[valid[0]]], ["x", [invalid[0]], *([[]] if self.min_items else [])]


@dataclass(frozen=True)
class OneOf(Field):
    """A value of one of several forms, e.g. a name or a list of names; ``description`` names the forms."""

    forms: tuple[Field, ...] = ()
    description: str = ""
    words: str = ""  # the forms in a few words, for messages (default: each form's own words)

    def form(self) -> str:
        return self.words or " or ".join(f.form() for f in self.forms)

    def parse(self, value: Any, key: str) -> Any:
        for form in self.forms:
            try:
                return form.parse(value, key)
            except BnnError:
                continue
        raise BnnError(f"{key}: {value!r} must be {self.form()}")

    def json_schema(self) -> dict:
        return {"oneOf": [f.schema() for f in self.forms]}

    def examples(self) -> tuple[list, list]:
        valid = [v for f in self.forms for v in f.examples()[0][:1]]
        return valid, [True]


@dataclass(frozen=True)
class MapOf(Field):
    """A mapping from names (e.g. dataset names) to values of one field."""

    value: Field = NAME
    description: str = ""

    def form(self) -> str:
        return f"a mapping of names to {self.value.form()}"

    def parse(self, value: Any, key: str) -> dict:
        value = {} if value is None else value
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        return {name: self.value.parse(v, f"{key}.{name}") for name, v in value.items()}

    def json_schema(self) -> dict:
        return {"type": "object", "additionalProperties": self.value.schema()}

    def examples(self) -> tuple[list, list]:
        valid, invalid = self.value.examples()
        return [{"some": valid[0]}], ["x", {"some": invalid[0]}]


@dataclass(frozen=True)
class Nested(Field):
    """A :class:`Section` as the value of a key; ``partial``: only the keys given, parsed (a mapping)."""

    section: type = None  # type: ignore[assignment]
    description: str = ""
    partial: bool = False

    def form(self) -> str:
        return f"a mapping with keys {', '.join(self.section.keys())}"

    def parse(self, value: Any, key: str) -> Section | dict:
        return self.section.values(value, key) if self.partial else self.section.parse(value, key)

    def json_schema(self) -> dict:
        return self.section.json_schema()

    def examples(self) -> tuple[list, list]:
        valid = {name: self.section.field_of(name).examples()[0][0] for name in self.section.required}
        return [valid], ["x", {**valid, "no_such_key": 1}]


def join(key: str, name: str) -> str:
    """The key path of ``name`` inside ``key`` (the top level has no prefix)."""
    return f"{key}.{name}" if key else name


def setting(default: Any, value: Field, description: str = "") -> Any:
    """A dataclass field declared as a config key: its default, its :class:`Field` and what it means."""
    if isinstance(default, (dict, list)):
        return field(
            default_factory=lambda: copy.deepcopy(default), metadata={"field": value, "description": description}
        )
    return field(default=default, metadata={"field": value, "description": description})


@dataclass(frozen=True)
class Section:
    """A config mapping with declared keys (dataclass fields made with :func:`setting`)."""

    required: ClassVar[tuple[str, ...]] = ()
    default_key: ClassVar[str] = ""  # the key quoted in errors when the caller names none

    @classmethod
    def declared(cls) -> list[dataclasses.Field]:
        return [f for f in fields(cls) if "field" in f.metadata]

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in cls.declared()]

    @classmethod
    def field_of(cls, name: str) -> Field:
        return next(f.metadata["field"] for f in cls.declared() if f.name == name)

    @classmethod
    def values(cls, value: Any, key: str) -> dict:
        """The parsed value of each key present in ``value``; unknown keys and missing required keys refused."""
        value = {} if value is None else value
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be a mapping with keys {', '.join(cls.keys())}")
        check_keys(value, cls.keys(), key)
        for name in cls.required:
            if value.get(name) is None:
                raise BnnError(f"{join(key, name)}: missing; set it ({cls.field_of(name).form()})")
        return {name: cls.field_of(name).parse(v, join(key, name)) for name, v in value.items()}

    @classmethod
    def parse(cls, value: Any, key: str | None = None) -> Section:
        key = cls.default_key if key is None else key
        parsed = cls(**cls.values(value, key))
        parsed.cross_check(key)
        return parsed

    def cross_check(self, key: str) -> None:
        """Checks across keys (none by default)."""

    @classmethod
    def json_schema(cls) -> dict:
        properties = {}
        for f in cls.declared():
            form = f.metadata["field"].schema()
            meaning = f.metadata["description"]
            default = None if f.name in cls.required else _default(f)
            own = meaning + (f" (default {default})" if default is not None and meaning else "")
            text = "; ".join(part for part in (own, form.get("description", "")) if part)
            if text:
                form = {"description": text, **{k: v for k, v in form.items() if k != "description"}}
            properties[f.name] = form
        schema: dict = {"type": "object", "additionalProperties": False, "properties": properties}
        if cls.required:
            schema["required"] = list(cls.required)
        return schema


def _default(f: dataclasses.Field) -> str | None:
    if f.default is not dataclasses.MISSING and f.default is not None and not dataclasses.is_dataclass(f.default):
        value = f.default
        return (
            str(value).lower() if isinstance(value, bool) else str(list(value) if isinstance(value, tuple) else value)
        )
    return None
