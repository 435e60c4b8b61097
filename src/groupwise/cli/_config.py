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

import contextlib
import dataclasses
import inspect
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from groupwise.exceptions import ConfigError, FileFormatError, did_you_mean

SHARED_KEYS = ("target", "id", "group", "group_kind", "time", "task", "pos_label", "drop")
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
        data = tomllib.loads(p.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"Config file {str(p)!r} is not UTF-8 text ({exc}); save it as UTF-8."
        ) from None
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


def as_list(value, name: str = "value") -> list[str]:
    """A column name or a list of them as a list; a clear error for anything else."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(
        f"{name!r} must be a column name or a list of names (text). Got {value!r} instead; "
        f'write for example {name} = "sample_id" or {name} = ["a", "b"].',
        parameter=name,
        value=value,
    )


# --------------------------------------------------------------------- shared options
# Column roles, declared once for every command that reads a table.
TargetOption = Annotated[str | None, typer.Option("--target", "-t", help="Target column.")]
IdOption = Annotated[
    list[str] | None,
    typer.Option(
        "--id", metavar="COL", help="Id column (repeatable); kept in predictions, never a feature."
    ),
]
GroupOption = Annotated[
    str | None,
    typer.Option(
        "--group", "-g", help="Group column (batch, site, subject): splits keep groups whole."
    ),
]
GroupKindOption = Annotated[
    str | None,
    typer.Option(
        "--group-kind",
        help="batch: a technical grouping (plate, run, site visit) whose offsets are nuisance; "
        "unit: subjects, persons, firms, schools, whose effect is real. \\[default: batch]",
    ),
]
AcceptOption = Annotated[
    list[str] | None,
    typer.Option(
        "--accept",
        metavar="CODE:COL",
        help="Acknowledge a finding: CODE:COLUMN (CODE:* for any column), repeatable. It stays "
        "in the reports, marked accepted, and no longer counts for --fail-on.",
    ),
]
TimeOption = Annotated[
    str | None,
    typer.Option("--time", help="Time column: holdout = latest period, CV = expanding window."),
]
TaskOption = Annotated[
    str | None, typer.Option(help="auto | classification | regression. \\[default: auto]")
]
PosLabelOption = Annotated[str | None, typer.Option(help="Positive class of a binary target.")]
DropOption = Annotated[
    list[str] | None, typer.Option("--drop", metavar="COL", help="Column to ignore (repeatable).")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file with these options (roles at top level, the command's own under "
        "\\[command]). Flags given here win.",
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
        id_cols=as_list(opts.get("id"), "id"),
        group_col=opts.get("group"),
        group_kind=opts.get("group_kind") or "batch",
        time_col=opts.get("time"),
        drop_cols=as_list(opts.get("drop"), "drop"),
    )


# --------------------------------------------------------------------- options from dataclasses
def field_docs(cls) -> dict[str, str]:
    """The first sentence of each parameter's description in a numpydoc docstring."""
    doc = inspect.getdoc(cls) or ""
    out: dict[str, str] = {}
    name, lines = None, []
    section = doc.split("Parameters\n----------\n", 1)[-1].split("\n\n\n")[0]
    for line in section.splitlines():
        m = re.match(r"^(\w+) : ", line)
        if m:
            if name:
                out[name] = " ".join(lines)
            name, lines = m.group(1), []
        elif name and line.startswith("    "):
            lines.append(line.strip().replace("``", ""))
        elif line and not line.startswith(" "):
            break
    if name:
        out[name] = " ".join(lines)
    return out


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _base_type(annotation) -> type:
    """``int | None`` → ``int``; tuples (lists of names) are read as comma-separated text."""
    if isinstance(annotation, str):
        annotation = eval(
            annotation, {"tuple": tuple, "str": str, "int": int, "float": float, "bool": bool}
        )
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = args[0]
    if typing.get_origin(annotation) is tuple:
        return str
    return annotation


def _default_text(value) -> str:
    if isinstance(value, tuple):
        value = ",".join(map(str, value))
    return "" if value is None else f" \\[default: {value}]"


def dataclass_options(cls, *, skip: Iterable[str] = ()) -> list[inspect.Parameter]:
    """One ``--flag`` per field of the config dataclass ``cls``, help from its docstring.

    Every option defaults to None (not given), so a ``--config`` file can fill it;
    the dataclass default is shown in the help. Booleans become ``--x/--no-x`` flags,
    tuples comma-separated text.
    """
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = _base_type(hints[f.name])
        help_text = docs.get(f.name, "").replace("[", "\\[") + _default_text(f.default)
        metavar = None
        if f.metadata.get("cli") == "repeat":
            kind = list[str]
            metavar = "CODE:COL" if f.name == "accept" else "VALUE"
        if kind is bool:
            decl = (f"{_flag(f.name)}/--no-{f.name.replace('_', '-')}",)
        else:
            decl = (_flag(f.name),)
        option = typer.Option(*decl, help=help_text, show_default=False, metavar=metavar)
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[kind | None, option],
            )
        )
    return params


def flags_of(cls, *, skip: Iterable[str] = ()) -> dict[str, str]:
    """Field name → command-line flag, for error messages."""
    return {f.name: _flag(f.name) for f in dataclasses.fields(cls) if f.name not in skip}


def accepted(flags, config) -> dict[str, str] | None:
    """``--accept`` flags added to the config file's ``accept`` (a table of reasons or a list)."""
    out: dict[str, str] = {}
    if isinstance(config, Mapping):
        out.update({str(k): str(v) for k, v in config.items()})
    elif config is not None:
        out.update(dict.fromkeys(as_list(config, "accept"), "accepted in the config file"))
    out.update(dict.fromkeys(as_list(flags, "accept"), "accepted on the command line (--accept)"))
    return out or None


@contextlib.contextmanager
def flag_names(flags: dict[str, str]):
    """Name the command-line flag in library errors about a parameter."""
    try:
        yield
    except ConfigError as exc:
        flag = flags.get(exc.parameter or "")
        if flag is None:
            raise
        raise ConfigError(
            f"Invalid {flag} {exc.value!r}: {exc}", parameter=exc.parameter, value=exc.value
        ) from None
