"""Every command's --help reads right: no markup lost, defaults shown, flags without a
value type, nothing wrapped mid-word at 80 columns."""

import re

import pytest

COMMANDS = [[], ["generate"], ["audit"], ["train"], ["cluster"], ["predict"], ["skew-check"], ["report"],
            ["demo"], ["serve"], ["evaluate"], ["monitor"], ["runs"], ["runs", "list"], ["runs", "show"]]  # fmt: skip


@pytest.fixture
def help_of(cli):
    def run(argv, width=80):
        result = cli(*argv, "--help", env={"COLUMNS": str(width), "TERM": "dumb"})
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "groupwise")
def test_help_has_no_value_type_on_flags_and_no_lost_markup(help_of, argv):
    text = help_of(argv, width=200)
    assert "<bool>" not in text
    assert "[/" not in text and "\\[" not in text  # unrendered or escaped markup
    if "roles at top level" in text:
        assert "[command]" in text  # the table name survives rich markup


@pytest.mark.parametrize("argv", [["audit"], ["train"], ["predict"], ["serve"], ["evaluate"]])
def test_help_shows_the_defaults(help_of, argv):
    text = " ".join(help_of(argv, width=200).split())
    assert len(re.findall(r"\[default: [^\]]+\]", text)) >= 3, text


def test_repeatable_options_show_what_they_take(help_of):
    text = help_of(["train"], width=120)
    assert "<list[str]>" not in text
    assert re.search(r"--accept\s+CODE:COL\s", text)
    assert re.search(r"--id\s+COL\s", text)


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "groupwise")
def test_every_option_name_is_whole_at_80_columns(help_of, argv, cli):
    from groupwise.cli import app

    text = help_of(argv, width=80)
    assert "…" not in text  # nothing cut short, names or help
    assert max(len(line) for line in text.splitlines()) <= 80
    command = typer_command(app, argv)
    for param in command.params:
        for name in (*param.opts, *param.secondary_opts):
            if name.startswith("--"):
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), name


def typer_command(app, argv):
    import typer.main

    command = typer.main.get_command(app)
    for name in argv:
        command = command.commands[name]
    return command
