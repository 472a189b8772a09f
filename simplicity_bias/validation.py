"""Errors for bad input, raised before anything is compiled or trained.

Every message is one sentence that names the offending config field and the fix; the launch
scripts print it and exit non-zero.
"""


class ConfigError(ValueError):
  """A config value that cannot work (unknown name, out-of-range number, inconsistent sizes)."""


class NonFiniteLossError(RuntimeError):
  """Training produced a NaN/inf loss; no results are written for such a run."""


def check_choice(field: str, value, choices) -> None:
  if value not in choices:
    raise ConfigError(f"{field}={value!r} is unknown; valid values: "
                      f"{', '.join(str(c) for c in choices)}.")


def check_positive(field: str, value, allow_zero: bool = False) -> None:
  if value is None or (value < 0 if allow_zero else value <= 0):
    bound = ">= 0" if allow_zero else "> 0"
    raise ConfigError(f"{field}={value!r} must be {bound}.")
