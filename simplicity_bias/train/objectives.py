"""Training objectives: what the compiled step minimises, as pure functions the trainer calls.

An :class:`Objective` has up to four parts, each optional except the loss:

* ``loss(logits, y)`` — the data loss of one member on a batch (cross-entropy for ``erm``); the
  stop rule's ``'loss'`` criterion and the logged training loss use it too;
* ``transform(forward, params, model_state, x, y, key, aux) -> x'`` — replaces the batch before the
  loss, inside the same compiled step (adversarial training: ``x'`` = the PGD perturbation of
  ``x``); no gradient flows through the transform;
* ``penalty(forward, params, model_state, x, y, logits, key, aux) -> scalar`` — an extra term of one
  member, e.g. on a frozen reference model or a fixed projection given in ``aux``;
* ``group_penalty(forward, params, model_state, x, y, logits, key, aux)`` with a leading ``[K]`` axis
  on ``params``, ``model_state``, ``logits`` and ``aux`` — a term over ``group_size`` members trained
  on the same batch (diversity objectives: D-BAT, DivDis, gradient-orthogonal ensembles). The
  group's loss is the sum of its members' losses plus this term, and gradients flow to every
  member of the group.

With ``select_on_transform`` the best-validation checkpoint is chosen on the transformed
validation set (e.g. adversarial validation accuracy).

``forward(params, model_state, x, *, train, key) -> (logits, new_model_state)`` runs the model;
``train=True`` uses dropout (``key``) and batch statistics, ``train=False`` the running ones.
``aux`` is a per-member pytree of non-trained inputs (or ``None``) handed to :func:`fit`.

Objectives are built by name from ``config.objective`` (:func:`build`); :func:`register` adds one.
"""

import dataclasses
from typing import Callable, Dict, Optional

import jax
import jax.numpy as jnp

from simplicity_bias.metrics.classification import cross_entropy, margin_scores
from simplicity_bias.validation import ConfigError


@dataclasses.dataclass(frozen=True)
class Objective:
  """The per-step loss of the trainer (see the module docstring)."""
  name: str
  loss: Callable = cross_entropy
  transform: Optional[Callable] = None
  penalty: Optional[Callable] = None
  group_size: int = 1
  group_penalty: Optional[Callable] = None
  # Model selection (train.select='best_val') on the transformed validation set, e.g. the
  # adversarial validation accuracy of adversarial training.
  select_on_transform: bool = False

  def __post_init__(self):
    if self.group_size < 1:
      raise ConfigError(f"objective {self.name!r}: group_size={self.group_size} must be >= 1.")
    if self.group_penalty is not None and self.group_size < 2:
      raise ConfigError(f"objective {self.name!r} has a group penalty but group_size="
                        f"{self.group_size}; a group needs at least 2 members.")


def hinge_loss(logits, y):
  """Mean of ``max(0, 1 − s·f)`` with ``f = logit_1 − logit_0`` and ``s = 2y − 1``."""
  s = 2.0 * y.astype(jnp.float32) - 1.0
  return jnp.mean(jax.nn.relu(1.0 - s * margin_scores(logits)))


_BUILDERS: Dict[str, Callable] = {}


def register(name: str):
  """Adds ``builder(objective_config, data_info) -> Objective`` under ``name``."""

  def wrap(builder):
    if name in _BUILDERS:
      raise ValueError(f"objective {name!r} is registered twice")
    _BUILDERS[name] = builder
    return builder

  return wrap


def names():
  _load_builtin()
  return sorted(_BUILDERS)


def _load_builtin():
  # Objectives defined next to the code they need register on import.
  import importlib
  for module in ("simplicity_bias.attacks.training",):
    try:
      importlib.import_module(module)
    except ModuleNotFoundError as e:
      if e.name != module:
        raise


def build(objective_config, data_info=None) -> Objective:
  """The objective named by ``objective_config.name`` (a ConfigDict, or a plain name)."""
  name = objective_config if isinstance(objective_config, str) else objective_config.name
  _load_builtin()
  if name not in _BUILDERS:
    raise ConfigError(f"objective.name={name!r} is unknown; valid objectives: "
                      f"{', '.join(sorted(_BUILDERS))}.")
  return _BUILDERS[name](objective_config, data_info)


@register("erm")
def _erm(objective_config, data_info):
  del objective_config, data_info
  return Objective("erm")


@register("hinge")
def _hinge(objective_config, data_info):
  del objective_config, data_info
  return Objective("hinge", loss=hinge_loss)
