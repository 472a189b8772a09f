"""Experiments, one module per paper claim, and the registry that finds them.

Each module names itself (``NAME``), lists the config files that hold its claims (``CONFIGS``:
``configs/<name>.py``), and defines what is specific to its claim on top of
``simplicity_bias.pipeline``: its cells, rows, figures and report text. What each config claims
is data, not code: the claim ledger ``reproduction/ledger/<config>.json``
(:mod:`simplicity_bias.report.ledger`). The registry that finds them by name
(``config.experiment``) is :mod:`simplicity_bias.experiment_registry`; its names are handed on
here.
"""

from simplicity_bias.experiment_registry import EXPERIMENTS, claim_configs, get_experiment

__all__ = ["EXPERIMENTS", "claim_configs", "get_experiment"]
