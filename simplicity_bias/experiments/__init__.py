"""Experiments, one module per paper claim.

Each module has ``validate(config)`` (raises ConfigError, compiles nothing),
``run(config, workdir="", progress=True) -> results`` (the results.json dict; files are written
when ``workdir`` is given) and ``claims(results) -> [claim dicts]`` (see ``common.claim``) that
``launch/reproduce.py`` collects into REPRODUCTION.md.

``config.experiment`` names the module; :func:`get_experiment` imports it lazily so a config for
one experiment does not pay for the imports of another.
"""

import importlib

from simplicity_bias.validation import ConfigError

EXPERIMENTS = {
    name: f"simplicity_bias.experiments.{name}"
    for name in ("synthetic_sb", "sb_models", "sb_training_choices", "sb_hurts_generalization",
                 "ensembles_synthetic", "theorem1_lsn", "nonrandom_init", "margin_sweep",
                 "mnist_cifar")
}


def get_experiment(name: str):
  if name not in EXPERIMENTS:
    raise ConfigError(f"unknown experiment {name!r}; valid: {', '.join(sorted(EXPERIMENTS))}.")
  return importlib.import_module(EXPERIMENTS[name])
