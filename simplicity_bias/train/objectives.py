"""Training objectives: what the compiled step minimises, as pure functions the trainer calls.

An :class:`Objective` has up to four parts, each optional except the loss:

* ``loss(logits, y)`` — the data loss of one member on a batch (cross-entropy for ``erm``); the
  stop rule's ``'loss'`` criterion and the logged training loss use it too;
* ``transform(inputs) -> x'`` — replaces the batch before the loss, inside the same compiled step
  (adversarial training: ``x'`` = the PGD perturbation of ``inputs.x``); no gradient flows
  through the transform;
* ``penalty(inputs) -> scalar`` — an extra term of one member, e.g. on a frozen reference model
  or a fixed projection given in ``inputs.aux``;
* ``group_penalty(inputs) -> scalar`` with a leading ``[K]`` axis on ``params``, ``model_state``,
  ``logits``, ``aux`` and ``active`` — a term over the ``K = members.group_size`` members of a
  group, trained on the same batch (diversity objectives: D-BAT, DivDis, gradient-orthogonal
  ensembles). The group's loss is the sum of its members' losses plus this term, and gradients
  flow to every member of the group that is training.

Every callback reads one :class:`StepInputs` (the training-step counterpart of the evaluators'
``Inputs``). ``inputs.forward(params, model_state, x, *, train, key) -> (logits,
new_model_state)`` runs the model; ``train=True`` uses dropout (``key``) and batch statistics,
``train=False`` the running ones.

An objective declares what it needs (``needs``): ``"group"`` (``members.group_size >= 2``) and
``"unlabelled"`` (a batch of the data source's unlabelled pool, ``data.pool``, in
``inputs.pool`` at every update). With ``sequential`` the members of a group train one after
another (member ``k`` starts when members ``0..k-1`` have stopped, each with the full budget of
``train.max_epochs``), so earlier members are frozen while later ones train. With
``select_on_transform`` the best-validation checkpoint is chosen on the transformed validation set
(e.g. adversarial validation accuracy).

Objectives are built by name from ``config.objective`` (:func:`build`); :func:`register` adds one.
The group size is not the objective's: it is ``members.group_size`` of the config, handed to
:func:`build`, which checks it against what the objective needs.
"""

import dataclasses
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

from simplicity_bias.metrics.classification import cross_entropy, margin_scores
from simplicity_bias.registries import Registry
from simplicity_bias.validation import ConfigError


NEEDS = ("group", "unlabelled")


class StepInputs(NamedTuple):
  """What a transform or penalty sees of one training update (one member, or a group's ``[K]``
  members for a group penalty)."""
  forward: Callable            # forward(params, model_state, x, *, train, key)
  params: Any
  model_state: Any
  x: Any                       # the batch (the transformed one, for penalties)
  y: Any
  key: Any                     # this callback's key for this update
  aux: Any = None              # per-member non-trained inputs handed to fit
  logits: Any = None           # training-mode logits of x (penalties only)
  pool: Any = None             # a batch of the unlabelled pool (objectives that need one)
  active: Any = None           # group penalties: [K] bools, the members training this update


@dataclasses.dataclass(frozen=True)
class Objective:
  """The per-step loss of the trainer (see the module docstring)."""
  name: str
  loss: Callable = cross_entropy
  transform: Optional[Callable] = None
  penalty: Optional[Callable] = None
  group_size: int = 1
  group_penalty: Optional[Callable] = None
  needs: tuple = ()             # of NEEDS
  sequential: bool = False      # group members train one after another (see module docstring)
  pool_batch_size: int = 0      # pool examples per update; 0 = train.batch_size
  # Model selection (train.select='best_val') on the transformed validation set, e.g. the
  # adversarial validation accuracy of adversarial training.
  select_on_transform: bool = False

  def check_group(self) -> "Objective":
    """ConfigError unless the group size suits the objective (a group objective needs >= 2)."""
    if "group" in self.needs and self.group_size < 2:
      raise ConfigError(f"objective {self.name!r} trains groups of members, but "
                        f"members.group_size={self.group_size}; set members.group_size >= 2.")
    return self

  def __post_init__(self):
    if self.group_size < 1:
      raise ConfigError(f"objective {self.name!r}: group_size={self.group_size} must be >= 1.")
    unknown = set(self.needs) - set(NEEDS)
    if unknown:
      raise ValueError(f"objective {self.name!r} needs {sorted(unknown)}; known: {NEEDS}")
    if (self.group_penalty is not None or self.sequential) and "group" not in self.needs:
      object.__setattr__(self, "needs", tuple(self.needs) + ("group",))
    if self.pool_batch_size < 0:
      raise ConfigError(f"objective {self.name!r}: pool_batch_size={self.pool_batch_size} must "
                        "be >= 0 (0 = train.batch_size).")


def hinge_loss(logits, y):
  """Mean of ``max(0, 1 − s·f)`` with ``f = logit_1 − logit_0`` and ``s = 2y − 1``."""
  s = 2.0 * y.astype(jnp.float32) - 1.0
  return jnp.mean(jax.nn.relu(1.0 - s * margin_scores(logits)))


_BUILDERS = Registry("objective")
register = _BUILDERS.register   # decorator: adds ``builder(objective_config, data_info)``


def names():
  _load_builtin()
  return sorted(_BUILDERS)


_BUILTIN_MODULES = ("simplicity_bias.attacks.training", "simplicity_bias.train.orthogonal",
                    "simplicity_bias.train.dbat", "simplicity_bias.train.divdis",
                    "simplicity_bias.train.spectral_decoupling", "simplicity_bias.train.sam")


def _load_builtin():
  # Objectives defined next to the code they need register on import.
  import importlib
  for module in _BUILTIN_MODULES:
    try:
      importlib.import_module(module)
    except ModuleNotFoundError as e:
      if e.name != module:
        raise


def build(objective_config, data_info=None, group_size: int = 1, has_pool: bool = False
          ) -> Objective:
  """The objective named by ``objective_config.name`` (a ConfigDict, or a plain name), for
  groups of ``group_size`` members (``members.group_size``); ``has_pool``: whether the data
  provide an unlabelled pool. ConfigError when the objective needs what the run lacks."""
  name = objective_config if isinstance(objective_config, str) else objective_config.name
  _load_builtin()
  if name not in _BUILDERS:
    raise ConfigError(f"objective.name={name!r} is unknown; valid objectives: "
                      f"{', '.join(sorted(_BUILDERS))}.")
  if group_size < 1:
    raise ConfigError(f"members.group_size={group_size} must be >= 1.")
  objective = dataclasses.replace(_BUILDERS[name](objective_config, data_info),
                                  group_size=group_size).check_group()
  if "unlabelled" in objective.needs and not has_pool:
    raise ConfigError(f"objective {name!r} needs an unlabelled pool: set data.pool (e.g. "
                      "'decorrelated') and data.pool_size.")
  return objective


def weight(objective_config, field: str, default: float) -> float:
  """``objective.<field>`` as a float >= 0 (a penalty's weight), ``default`` when not given."""
  value = float(option(objective_config, field, default))
  if not value >= 0:
    raise ConfigError(f"objective.{field}={value} must be >= 0.")
  return value


def option(objective_config, field: str, default):
  """``objective.<field>`` of a ConfigDict (``default`` when the objective is given by name
  or the section lacks the field)."""
  if isinstance(objective_config, str):
    return default
  return objective_config.get(field, default)


@register("erm")
def _erm(objective_config, data_info):
  del objective_config, data_info
  return Objective("erm")


@register("hinge")
def _hinge(objective_config, data_info):
  del objective_config, data_info
  return Objective("hinge", loss=hinge_loss)
