"""One definition of the config (issue 21): the workflow's schema is generated from the keys bnn declares, and the
schema and bnn's parser agree on a valid and an invalid value of every setting.

Every declared key is enumerated from the declarations themselves (a new setting is covered without touching this
file): at the top level, in ``train``, in a recipe, in a stage (and, for the training settings, in a stage spec as
``bnn train --spec`` reads it). A valid value must pass the schema and the parser; an invalid one must fail both,
the parser's message naming the key.
"""

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from bnn.config.experiment import RECIPE, ExperimentConfig, Level
from bnn.config.fields import MapOf, Nested
from bnn.config.schema import config_schema, schema_text
from bnn.config.spec import ComponentField, Settings, StageSpec
from bnn.errors import BnnError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
VALIDATOR = jsonschema.Draft202012Validator(config_schema())
BASE = {
    "datasets": ["digits"],
    "models": ["mlp"],
    "methods": ["name_1"],
    "seeds": [0],
    "data_root": "data",
    "split": {"seed": 0, "val_size": 0.15},
    "model_specs": {"mlp": {"arch": "mlp"}},
    "train": {"epochs": 1, "batch_size": 8},
    "recipes": {"name_1": {"stages": [{"name": "train"}]}},
    "compare": {"baseline": "name_1"},
}
SPEC = {
    "run": {"dataset": "digits", "model": "mlp", "method": "name_1", "seed": 0, "stage": "train"},
    "data": "results/data/digits",
    "model": {"arch": "mlp"},
    "epochs": 1,
    "batch_size": 8,
}


def leaves(field, path: tuple) -> list[tuple[tuple, object]]:
    """Every declared value under ``field`` with its key path (a name of a mapping of names is ``name_1``)."""
    found = [(path, field)]
    if isinstance(field, Nested):
        for f in field.section.declared():
            found += leaves(f.metadata["field"], (*path, f.name))
    elif isinstance(field, ComponentField):
        for name, option in field.options.items():
            found += leaves(option, (*path, name))
    elif isinstance(field, Level):
        for name, own in field.own.items():
            found += leaves(own, (*path, name))
    elif isinstance(field, MapOf):
        found += leaves(field.value, (*path, "name_1"))
    return found


def settings_leaves() -> list[tuple[tuple, object]]:
    return [leaf for f in Settings.declared() for leaf in leaves(f.metadata["field"], (f.name,))]


def config_cases() -> list[tuple[tuple, object]]:
    top = [
        leaf
        for f in ExperimentConfig.declared()
        if f.name != "scale"
        for leaf in leaves(f.metadata["field"], (f.name,))
    ]
    recipe = [(("recipes", "name_1", *path), f) for path, f in leaves(RECIPE, ())[1:]]
    levels = [("train",), ("recipes", "name_1"), ("recipes", "name_1", "stages", 0)]
    settings = [((*level, *path), f) for level in levels for path, f in settings_leaves()]
    return top + recipe + settings


def put(config: dict, path: tuple, value) -> dict:
    config = copy.deepcopy(config)
    node = config
    for part in path[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    node[path[-1]] = value
    return config


def dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def parser_error(parse, config) -> str | None:
    try:
        parse(config)
    except BnnError as error:
        return str(error)
    return None


CASES = [
    pytest.param(path, value, ok, id=f"{dotted(path)}={value!r}:{'valid' if ok else 'invalid'}")
    for path, field in config_cases()
    for ok, values in zip((True, False), field.examples())
    for value in values
]


def test_the_committed_schema_is_generated_from_the_declarations():
    assert SCHEMA.read_text() == schema_text(), "stale schema: run bnn schema --out workflow/schemas/config.schema.yaml"


def test_every_setting_is_enumerated():
    names = {path[-1] for path, _ in config_cases() if path[0] == "train"}
    assert set(Settings.keys()) <= names and {"crop", "lr", "interval", "nproc", "weights", "sign_zero"} <= names
    assert len(CASES) > 300


@pytest.mark.parametrize(("path", "value", "ok"), CASES)
def test_schema_and_parser_agree(path, value, ok):
    config = put(BASE, path, value)
    error = parser_error(ExperimentConfig.parse, config)
    assert VALIDATOR.is_valid(config) is ok, f"schema {'refuses' if ok else 'accepts'} {dotted(path)}: {value!r}"
    assert (error is None) is ok, f"parser {'refuses' if ok else 'accepts'} {dotted(path)}: {value!r}: {error}"
    if not ok:
        assert error.startswith(dotted(path)) or path[-1] == "name_1", error
        if not isinstance(value, (dict, list)):
            assert repr(value) in error, error


@pytest.mark.parametrize(
    ("path", "value", "ok"), [c for c in CASES if c.values[0][0] == "train" and len(c.values[0]) > 1]
)
def test_a_stage_spec_agrees(path, value, ok):
    error = parser_error(StageSpec.parse, put(SPEC, path[1:], value))
    assert (error is None) is ok, (
        f"bnn train --spec {'refuses' if ok else 'accepts'} {dotted(path)}: {value!r}: {error}"
    )
    if not ok:
        assert error.startswith(f"spec.{dotted(path[1:])}"), error


def test_a_scale_overlay_is_checked_once_merged():
    config = {**BASE, "scales": {"smoke": {"train": {"epoch": 2}}}, "scale": "smoke"}
    with pytest.raises(BnnError, match=r"^train.epoch: unknown key \(did you mean 'epochs'\?\)"):
        ExperimentConfig.parse(config)
    config["scales"]["smoke"] = {"train": {"epochs": 2}}
    assert ExperimentConfig.parse(config).train["epochs"] == 2
    with pytest.raises(BnnError, match=r"^scale: 'smok' is not defined in scales \(did you mean 'smoke'\?\)"):
        ExperimentConfig.parse({**config, "scale": "smok"})


def test_the_readme_recommended_amp_is_accepted_by_the_workflow_schema():
    config = put(BASE, ("train", "amp"), "binary_bf16")
    assert VALIDATOR.is_valid(config) and ExperimentConfig.parse(config).train["amp"] == "binary_bf16"
    assert "binary_bf16" in yaml.safe_load(SCHEMA.read_text())["$defs"]["settings"]["amp"]["enum"]
