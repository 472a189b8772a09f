"""Members: who trains together in one compiled program, and where each one's randomness comes from.

A member stack is ``points x seeds x slots``, grid-point major: member ``(g, s, j)`` has index
``(g * num_seeds + s) * slots + j``. *Points* are settings that vmap (dataset parameters, init
mixing weights α, adversarial ε); *seeds* are independent repetitions; *slots* are members that
share a seed's data, e.g. the models of one ensemble.

Every random draw comes from the member's seed through one named :class:`Purpose`:
``fold_in(key(seed), purpose)``, then ``fold_in(·, slot)`` for purposes that differ between the
slots of a seed (a model's initialisation) and not for those they share (the dataset, the test
permutations). Grid points of one seed share all their keys (common random numbers: two margins
are compared on the same draws). The purposes are the single list of ``fold_in`` tags in the
project, with the tags under them (:class:`Step`, :class:`Transform`, :class:`Eval`,
:class:`Attribution`, :class:`Pool`, :class:`Strip`); a new use of randomness adds a name here instead of a
number in a module.
"""

import dataclasses
import enum
from typing import Sequence, Tuple

import jax
import jax.numpy as jnp


class Purpose(enum.IntEnum):
  """What a key is for (the ``fold_in`` tag under the seed key)."""
  DATA = 0        # the dataset a member trains and is tested on
  MODEL = 1       # initialisation, then the trainer's shuffles and dropout
  EVAL = 2        # permutations of the randomized test sets
  STRIP = 3       # permutation that removes S from a training set (non-random init, stage 1)
  STAGE1_MODEL = 4  # initialisation of a first-stage model (non-random init's M_slab)
  ATTACK = 5      # random starts of adversarial attacks
  UAP = 6         # universal perturbations
  ATTRIBUTION = 7  # SmoothGrad noise, tie-breaking of attribution ranks
  RETRAIN = 8     # models retrained on masked data (DiffROAR)
  POOL = 9        # the unlabelled pool a data source draws beside the training set


# Tags under a purpose's key, one enum per parent key (``fold_in(parent key, tag)``). Their values
# are part of every recorded result: add names, never renumber.
class Step(enum.IntEnum):
  """Under a member's MODEL key, inside the training step (then ``fold_in(·, epoch|update)``)."""
  SHUFFLE = 1        # the epoch's minibatch order
  DROPOUT = 2
  TRANSFORM = 3      # a batch transform, e.g. an adversarial attack
  SAMPLE = 4         # fresh batches drawn per update
  PENALTY = 5        # a penalty's own randomness
  VAL_TRANSFORM = 6  # the transform of validation checks
  POOL = 7           # the unlabelled-pool batch of the update


class Transform(enum.IntEnum):
  """Under a step's TRANSFORM key."""
  DROPOUT = 1        # dropout inside an attack run in train mode


class Eval(enum.IntEnum):
  """Under a member's EVAL key (the sb evaluator splits it three ways: S, S^c, coordinates)."""
  HALF_SUBSETS = 3   # the random coordinate halves of the ensembles' half-randomized accuracy
  SELECT = 4         # the permutation of S across a model-selection set (select_decorrelated)


class Attribution(enum.IntEnum):
  """Under an ATTRIBUTION key."""
  RANDOM_RANKS = 1   # the random attribution DiffROAR compares with


class Pool(enum.IntEnum):
  """Under a seed's POOL key."""
  DRAW = 1           # the pool's points
  DECORRELATE = 2    # the permutation of S across the pool (a decorrelated pool)


class Strip(enum.IntEnum):
  """Under a STRIP key (which permutes the training set's S block)."""
  VALIDATION = 1     # the validation set's own permutation


@dataclasses.dataclass(frozen=True)
class Layout:
  """How the members of one compiled program map to (grid point, seed, slot)."""
  seeds: Tuple[int, ...]
  num_points: int = 1
  slots: int = 1

  @property
  def num_seeds(self) -> int:
    return len(self.seeds)

  @property
  def num_members(self) -> int:
    return self.num_points * self.num_seeds * self.slots

  def index(self, point: int, seed: int, slot: int = 0) -> int:
    return (point * self.num_seeds + seed) * self.slots + slot

  def point_slice(self, point: int) -> slice:
    """Members of grid point ``point`` (all its seeds and slots), as a slice."""
    size = self.num_seeds * self.slots
    return slice(point * size, (point + 1) * size)

  def keys(self, purpose: Purpose, per_slot: bool = False):
    """One key per member: ``fold_in(key(seed), purpose)`` (and the slot when ``per_slot``)."""
    out = []
    for _ in range(self.num_points):
      for seed in self.seeds:
        base = jax.random.fold_in(jax.random.key(seed), int(purpose))
        for j in range(self.slots):
          key = jax.random.fold_in(base, j) if per_slot else base
          out.append(jax.random.key_data(key))
    return jax.random.wrap_key_data(jnp.stack(out))

  def seed_keys(self, purpose: Purpose):
    """One key per seed (e.g. per ensemble): ``fold_in(key(seed), purpose)``."""
    return Layout(self.seeds).keys(purpose)


def layout(seed: int, num_seeds: int, num_points: int = 1, slots: int = 1) -> Layout:
  """Seeds ``seed, seed + 1, ..., seed + num_seeds - 1`` at every grid point."""
  return Layout(tuple(seed + s for s in range(num_seeds)), num_points, slots)


def split_points(values, num_points: int) -> Sequence:
  """``[members, ...]`` -> ``[num_points, members_per_point, ...]`` (numpy or jax arrays)."""
  return values.reshape((num_points, -1) + values.shape[1:])


def subkey(key, tag):
  """``fold_in(key, tag)`` for a named tag of this module (keys with a leading axis: one each)."""
  fold = lambda k: jax.random.fold_in(k, int(tag))
  return jax.vmap(fold)(key) if key.ndim else fold(key)


def counter_key(key, tag, count):
  """The key of update (or epoch) ``count`` under tag ``tag`` of one member's key:
  ``fold_in(fold_in(key, tag), count)``, so a draw depends on the count, never on how a run was
  cut into compiled calls or resumed."""
  return jax.random.fold_in(jax.random.fold_in(key, int(tag)), count)
