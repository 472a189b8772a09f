"""The experiment registry: which experiments exist and which claim configs they hold, found by
name, so that the pipeline (which runs any experiment) never imports the experiments package.

``config.experiment`` names a module: one of :data:`EXPERIMENTS` (``simplicity_bias/experiments/
<name>.py``), a ``.py`` file (a config file that also defines its experiment) or any importable
module; :func:`get_experiment` imports it lazily, so a config for one experiment does not pay for
the imports of another. The registry order is the order of REPRODUCTION.md; :func:`claim_configs`
is the one list of claim configs that ``launch/reproduce.py`` runs.
"""


import importlib
from typing import List, Tuple

from simplicity_bias.validation import ConfigError

EXPERIMENTS = ("synthetic_sb", "sb_models", "sb_training_choices", "sb_hurts_generalization",
               "ensembles_synthetic", "theorem1_lsn", "nonrandom_init", "margin_sweep",
               "mnist_cifar", "block_mnist", "block_mnist_theory", "diffroar",
               "attacks_synthetic", "adv_training_synthetic", "adversarial_images",
               "mitigation_leaderboard")


def get_experiment(name: str):
  """The module of experiment ``name``: one of :data:`EXPERIMENTS`, a ``.py`` file (a config file
  that also defines its experiment), or any importable module that defines one (``NAME`` and
  optionally ``cells``, ``rows``, ``report``; see ``simplicity_bias.pipeline``)."""
  if name.endswith(".py"):  # a one-file experiment: the config file defines it too
    from simplicity_bias.configs import load_module
    found = _FILES.get(name) or _FILES.setdefault(name, load_module(name))
  else:
    module = f"simplicity_bias.experiments.{name}" if name in EXPERIMENTS else name
    try:
      found = importlib.import_module(module)
    except ModuleNotFoundError as e:
      if e.name not in (module, module.split(".")[0]):
        raise
      raise ConfigError(f"experiment={name!r} is neither a built-in experiment "
                        f"({', '.join(EXPERIMENTS)}), a .py file nor an importable "
                        "module.") from None
  if not hasattr(found, "NAME"):
    raise ConfigError(f"experiment={name!r} defines no experiment (it needs at least NAME; see "
                      "simplicity_bias/pipeline.py).")
  return found


_FILES = {}


def claim_configs() -> List[Tuple[str, str]]:
  """(config name, experiment name) of every claim config, in registry order."""
  return [(config, name) for name in EXPERIMENTS for config in get_experiment(name).CONFIGS]
