"""What every groupwise estimator shares: scikit-learn's parameter validation, our errors."""

from __future__ import annotations

from sklearn.utils._param_validation import InvalidParameterError

from groupwise.exceptions import ConfigError

__all__ = ["InvalidParameter", "ValidatedMixin"]


class InvalidParameter(ConfigError, InvalidParameterError):
    """A bad estimator parameter, in scikit-learn's message format.

    It is both a :class:`~groupwise.exceptions.ConfigError` (the command line shows it
    without a traceback) and scikit-learn's ``InvalidParameterError``.
    """


class ValidatedMixin:
    """Validates ``_parameter_constraints`` at the top of ``fit`` (through scikit-learn's
    ``_fit_context``) and raises :class:`InvalidParameter`."""

    def _validate_params(self):
        try:
            super()._validate_params()
        except InvalidParameterError as exc:
            if isinstance(exc, InvalidParameter):
                raise
            raise InvalidParameter(str(exc)) from None
