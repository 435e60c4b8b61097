import pytest

from groupwise.exceptions import (
    ColumnNotFoundError,
    ConfigError,
    DataError,
    GroupwiseError,
    InputFileNotFoundError,
    MissingDependencyError,
    did_you_mean,
)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (ColumnNotFoundError, KeyError),
        (ConfigError, ValueError),
        (DataError, ValueError),
        (InputFileNotFoundError, FileNotFoundError),
        (MissingDependencyError, ImportError),
    ],
)
def test_errors_subclass_the_builtin_they_mean(cls, builtin):
    with pytest.raises(builtin):
        raise cls("boom")
    with pytest.raises(GroupwiseError):
        raise cls("boom")
    assert cls("x").exit_code == 2


def test_column_not_found_message_is_not_quoted_like_keyerror():
    assert str(ColumnNotFoundError("no column 'a'")) == "no column 'a'"


def test_did_you_mean_finds_close_and_case_insensitive_names():
    assert did_you_mean("tagret", ["target", "batch"]) == " Did you mean 'target'?"
    assert did_you_mean("BATCH", ["target", "batch"]) == " Did you mean 'batch'?"
    assert did_you_mean("zzzz", ["target"]) == ""
