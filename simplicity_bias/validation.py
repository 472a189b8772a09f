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


def named_settings(section: str, datasets, settings, fields, example: str):
  """``[(name, settings[name])]`` for each dataset named in ``<section>.datasets``, after checking
  that the list is non-empty and distinct and that every dataset has every one of ``fields``."""
  if not datasets:
    raise ConfigError(f"{section}.datasets is empty; name at least one dataset, e.g. "
                      f"({example!r},).")
  if len(set(datasets)) != len(datasets):
    raise ConfigError(f"{section}.datasets={tuple(datasets)} repeats a dataset.")
  out = []
  for name in datasets:
    if name not in settings:
      raise ConfigError(f"{section}.settings has no entry for dataset {name!r}; add "
                        f"{section}.settings.{name} ({', '.join(fields)}).")
    missing = [f for f in fields if f not in settings[name]]
    if missing:
      raise ConfigError(f"{section}.settings.{name} lacks {missing}; give every field of "
                        f"{tuple(fields)}.")
    out.append((name, settings[name]))
  return out
