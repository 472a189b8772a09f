"""Experiments, one module per paper claim: ``run(config, workdir) -> results``.

``config.experiment`` names the module; :func:`get_experiment` imports it lazily so a config for
one experiment does not pay for the imports of another.
"""

import importlib

from simplicity_bias.validation import ConfigError

EXPERIMENTS = {
    "synthetic_sb": "simplicity_bias.experiments.synthetic_sb",
}


def get_experiment(name: str):
  if name not in EXPERIMENTS:
    raise ConfigError(f"unknown experiment {name!r}; valid: {', '.join(sorted(EXPERIMENTS))}.")
  return importlib.import_module(EXPERIMENTS[name])
