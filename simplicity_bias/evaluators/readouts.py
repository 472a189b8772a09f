"""Read-outs: one model from the ``K`` members of a group, for the ordinary evaluators.

A config asks for an evaluator on a read-out with ``evaluator@readout`` in ``config.evals``
(``"sb@mean_logits"``: the ensemble's S / S^c-randomized accuracy); the outputs are named
``metric@readout`` (``test_acc@mean_logits``). Read-outs by name:

* ``mean_logits`` — the mean of the members' logits;
* ``mean_probs`` — the log of the mean of their class probabilities;
* ``vote`` — the fraction of members voting for each class (ties: the lower class);
* ``mean_logits:k``, ``mean_probs:k``, ``vote:k`` — the same rules on the first ``k`` members
  (a size-``k`` ensemble of a group trained with ``K >= k``); ``prefix:k`` = ``mean_logits:k``;
* ``member:i`` (or ``head:i``) — member ``i`` alone (e.g. D-BAT's last model, a DivDis head).

A read-out maps ``(predict, group_variables, x)`` to logits, where ``predict(variables, x)`` is
one member's and ``group_variables`` has a leading ``[K]`` axis.
"""

import functools
from typing import Callable, Tuple

import jax
import jax.numpy as jnp

from simplicity_bias.validation import ConfigError

NAMES = ("mean_logits[:k]", "mean_probs[:k]", "vote[:k]", "prefix:k", "member:i", "head:i")
_RULES = ("mean_logits", "mean_probs", "vote")


def parse(spec: str, group_size: int) -> Tuple[str, int]:
  """``(name, argument)`` of a read-out spec, checked against the group size."""
  name, _, arg = spec.partition(":")
  if name == "head":
    name = "member"
  if name == "prefix":
    name = "mean_logits" if arg else name
  if name in _RULES and not arg:
    return name, 0
  if name in _RULES + ("member",) and arg.isdigit():
    n = int(arg)
    if name in _RULES and not 1 <= n <= group_size:
      raise ConfigError(f"read-out {spec!r}: k={n} must be in [1, {group_size}] "
                        f"(members.group_size={group_size}).")
    if name == "member" and not n < group_size:
      raise ConfigError(f"read-out {spec!r}: member {n} does not exist in a group of "
                        f"{group_size} (members.group_size).")
    return name, n
  raise ConfigError(f"read-out {spec!r} is unknown; valid: {', '.join(NAMES)} (k, i integers).")


def _member_logits(predict, variables, x):
  return jax.vmap(lambda v: predict(v, x))(variables)          # [K, n, C]


@functools.lru_cache(maxsize=64)
def group_predict(spec: str, predict: Callable) -> Callable:
  """``fn(group_variables, x) -> logits`` of read-out ``spec`` (the same function object for the
  same arguments, so compiled evaluations are reused)."""
  name, arg = parse(spec, 10**9)

  def fn(variables, x):
    if name == "member":
      return predict(jax.tree_util.tree_map(lambda a: a[arg], variables), x)
    if arg:   # the first ``arg`` members
      variables = jax.tree_util.tree_map(lambda a: a[:arg], variables)
    logits = _member_logits(predict, variables, x)
    if name == "mean_logits":
      return jnp.mean(logits, axis=0)
    if name == "mean_probs":
      return jnp.log(jnp.mean(jax.nn.softmax(logits, axis=-1), axis=0))
    votes = jax.nn.one_hot(jnp.argmax(logits, axis=-1), logits.shape[-1])
    return jnp.mean(votes, axis=0)

  return fn


@functools.lru_cache(maxsize=64)
def stacked(predict: Callable) -> Callable:
  """``fn(group_variables, x) -> [K, n, C]``: every member's logits (group evaluators)."""
  return functools.partial(_member_logits, predict)
