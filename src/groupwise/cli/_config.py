"""Options from a TOML config file (``--config``), overridden by command-line flags.

A config file holds shared keys at top level (``target``, ``id``, ``group``, ``time``,
``task``, ``pos_label``, ``drop``) and command-specific keys under a table named after
the command (``[audit]``, ``[train]``, ...)::

    target = "y"
    group = "batch"

    [train]
    models = ["linear", "hist_gb"]
    tune_trials = 10
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from groupwise.exceptions import ConfigError, FileFormatError, did_you_mean

SHARED_KEYS = ("target", "id", "group", "time", "task", "pos_label", "drop")
COMMANDS = ("audit", "train", "predict", "generate", "monitor")


def load_options(path: Path | None, command: str, allowed: Iterable[str]) -> dict[str, Any]:
    """Options for ``command`` from ``path`` (empty when ``path`` is None)."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Config file {str(p)!r} does not exist.")
    if p.suffix.lower() != ".toml":
        raise FileFormatError(
            f"Config file {str(p)!r} must be a .toml file; got {p.suffix or 'no extension'!r}."
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FileFormatError(f"Cannot parse {str(p)!r} as TOML: {exc}.") from None
    allowed = list(allowed)
    options: dict[str, Any] = {}
    for key, value in data.items():
        if key in COMMANDS and isinstance(value, Mapping):
            continue
        if key in SHARED_KEYS:
            if key in allowed:
                options[key] = value
            continue
        raise ConfigError(
            f"Unknown top-level key {key!r} in {str(p)!r}.{did_you_mean(key, [*SHARED_KEYS, *COMMANDS])} "
            f"Top-level keys: {', '.join(SHARED_KEYS)}; command tables: {', '.join(f'[{c}]' for c in COMMANDS)}."
        )
    section = data.get(command, {})
    for key, value in section.items():
        if key not in allowed:
            raise ConfigError(
                f"Unknown option {key!r} in [{command}] of {str(p)!r}.{did_you_mean(key, allowed)} "
                f"Options: {', '.join(allowed)}."
            )
        options[key] = value
    return options


def merged(
    flags: Mapping[str, Any], config: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """Flags given on the command line win over the config file, which wins over defaults.

    A flag counts as given when it is not None (and, for lists, not empty).
    """
    out = dict(defaults)
    out.update({k: v for k, v in config.items()})
    for k, v in flags.items():
        if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
            continue
        out[k] = v
    return out


def as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


# --------------------------------------------------------------------- shared options
# Column roles, declared once for every command that reads a table.
TargetOption = Annotated[str | None, typer.Option("--target", "-t", help="Target column.")]
IdOption = Annotated[
    list[str] | None,
    typer.Option("--id", help="Id column (repeatable); kept in predictions, never a feature."),
]
GroupOption = Annotated[
    str | None,
    typer.Option(
        "--group", "-g", help="Group column (batch, site, subject): splits keep groups whole."
    ),
]
TimeOption = Annotated[
    str | None,
    typer.Option("--time", help="Time column: holdout = latest period, CV = expanding window."),
]
TaskOption = Annotated[
    str | None, typer.Option(help="auto | classification | regression. [default: auto]")
]
PosLabelOption = Annotated[str | None, typer.Option(help="Positive class of a binary target.")]
DropOption = Annotated[
    list[str] | None, typer.Option("--drop", help="Column to ignore (repeatable).")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file with these options (roles at top level, the command's own under [command]).",
    ),
]


def spec_from_options(opts: Mapping[str, Any]):
    """The TableSpec from merged options; a clear error when the target is missing."""
    from groupwise.spec import TableSpec

    if not opts.get("target"):
        raise ConfigError(
            'Missing the target column: pass --target COLUMN (or target = "..." in --config).'
        )
    return TableSpec(
        target=opts["target"],
        task=opts.get("task") or "auto",
        pos_label=opts.get("pos_label"),
        id_cols=as_list(opts.get("id")),
        group_col=opts.get("group"),
        time_col=opts.get("time"),
        drop_cols=as_list(opts.get("drop")),
    )
