"""Checkpoints of the member-stacked training state (orbax), for killed runs to resume.

The only module that talks to orbax (imported when a checkpoint is first made, so runs without
a work directory do not pay for it). Typed PRNG keys are stored as their raw key data and
re-wrapped on restore from the template state; the evaluation history travels as JSON. Because
shuffles and dropout depend only on (key, epoch, update), a resumed run reproduces an
uninterrupted one exactly, whenever the checkpoints were taken.
"""

import os
import time
from typing import Dict, List, Optional, Tuple

import jax


def _is_key(x) -> bool:
  return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_storable(tree):
  return jax.tree_util.tree_map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def _from_storable(tree, template):
  return jax.tree_util.tree_map(
      lambda x, t: jax.random.wrap_key_data(x, impl=jax.random.key_impl(t)) if _is_key(t) else x,
      tree, template)


class Checkpointer:
  """Saves at the first check ``every_s`` seconds after the last save (0: at every check) into
  ``directory``; the trainer also saves when a run ends."""

  def __init__(self, directory: str, every_s: float = 120.0, max_to_keep: int = 2):
    import orbax.checkpoint as ocp
    self._ocp = ocp
    self.every_s = float(every_s)
    self._last_saved = time.monotonic()
    self._manager = ocp.CheckpointManager(
        os.path.abspath(directory),
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                             enable_async_checkpointing=False))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def due(self, step: int) -> bool:
    del step
    due = time.monotonic() - self._last_saved >= self.every_s
    if jax.process_count() > 1:  # every process must save at the same check: process 0 decides
      from jax.experimental import multihost_utils
      due = bool(multihost_utils.broadcast_one_to_all(due))
    return due

  def save(self, step: int, states, history: List[Dict]) -> None:
    ocp = self._ocp
    if self._manager.latest_step() == step:
      return
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(_to_storable(states)),
        history=ocp.args.JsonSave({"history": history})))
    self._manager.wait_until_finished()
    self._last_saved = time.monotonic()

  def restore(self, template_states) -> Tuple[int, object, List[Dict]]:
    """(step, states, history) of the latest checkpoint, shaped like ``template_states``."""
    ocp = self._ocp
    step = self._manager.latest_step()
    if step is None:
      raise FileNotFoundError("no checkpoint to resume from")
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct,
                                      _to_storable(template_states))
    restored = self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract), history=ocp.args.JsonRestore()))
    self._last_saved = time.monotonic()
    return step, _from_storable(restored.state, template_states), restored.history["history"]

  def close(self):
    self._manager.close()
