"""Group evaluators: measurements of the ``K`` members of a group together (``inputs.logits_fn``
returns ``[K, n, C]``), for diversity methods.

``disagreement``: the mean over member pairs of the fraction of test points on which the two
predict different classes, on the test set and, where the data have the block, with S or S^c
randomized (the permutations of the ``sb`` evaluator: members that rely on different blocks
disagree once one block is randomized).
"""

import jax.numpy as jnp

from simplicity_bias.data.randomize import permutation, randomize
from simplicity_bias.evaluators import register
from simplicity_bias.evaluators.sb import _keys


def pairwise_disagreement(logits):
  """``logits [K, n, C]`` -> mean over pairs j < k of mean(argmax_j != argmax_k)."""
  pred = jnp.argmax(logits, axis=-1)
  k = pred.shape[0]
  rates = [jnp.mean(pred[a] != pred[b]) for a in range(k) for b in range(a + 1, k)]
  return jnp.mean(jnp.stack(rates))


@register("disagreement", group=True)
def disagreement(inputs):
  x, info = inputs.x, inputs.info
  k_simple, k_complex, _ = _keys(inputs.key)
  out = {"disagreement": pairwise_disagreement(inputs.logits_fn(x))}
  for name, block, k in (("s_rand", "simple", k_simple), ("sc_rand", "complex", k_complex)):
    if info.has(block):
      perm = permutation(k, x.shape[0])
      out[f"{name}_disagreement"] = pairwise_disagreement(
          inputs.logits_fn(randomize(x, info, block, perm, inputs.rotation)))
  return out
