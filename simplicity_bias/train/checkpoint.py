"""Checkpoints of the member-stacked training state (orbax), for killed runs to resume.

The only module that talks to orbax. Typed PRNG keys are stored as their raw key data and
re-wrapped on restore from the template state; the evaluation history travels as JSON. Because
shuffles and dropout depend only on (key, epoch, update), a resumed run reproduces an
uninterrupted one exactly.
"""

import os
from typing import Dict, List, Optional, Tuple

import jax
import orbax.checkpoint as ocp


def _is_key(x) -> bool:
  return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_storable(tree):
  return jax.tree_util.tree_map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def _from_storable(tree, template):
  return jax.tree_util.tree_map(
      lambda x, t: jax.random.wrap_key_data(x, impl=jax.random.key_impl(t)) if _is_key(t) else x,
      tree, template)


class Checkpointer:
  """Saves every ``every_updates`` updates (at the first check past it) into ``directory``."""

  def __init__(self, directory: str, every_updates: int, max_to_keep: int = 2):
    if every_updates < 1:
      raise ValueError(f"checkpoint interval must be >= 1 update (got {every_updates})")
    self.every_updates = every_updates
    self._last_saved = 0
    self._manager = ocp.CheckpointManager(
        os.path.abspath(directory),
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                             enable_async_checkpointing=False))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def due(self, step: int) -> bool:
    return step - self._last_saved >= self.every_updates

  def save(self, step: int, states, history: List[Dict]) -> None:
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(_to_storable(states)),
        history=ocp.args.JsonSave({"history": history})))
    self._manager.wait_until_finished()
    self._last_saved = step

  def restore(self, template_states) -> Tuple[int, object, List[Dict]]:
    """(step, states, history) of the latest checkpoint, shaped like ``template_states``."""
    step = self._manager.latest_step()
    if step is None:
      raise FileNotFoundError("no checkpoint to resume from")
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct,
                                      _to_storable(template_states))
    restored = self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract), history=ocp.args.JsonRestore()))
    self._last_saved = step
    return step, _from_storable(restored.state, template_states), restored.history["history"]

  def close(self):
    self._manager.close()
