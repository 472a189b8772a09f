"""Model-selection evaluators: what a method may look at to choose among its models, measured on
the validation split (never the test set).

``select_decorrelated``: accuracy on the first ``eval.select_n`` (default 16) validation points
with the simple block S permuted across them, i.e. a handful of labelled points from the
decorrelated distribution (S carries no label information there, S^c does). The mitigation
leaderboard's ``n16`` selection picks each group's member with the highest value (track T2).
"""

from simplicity_bias.data.randomize import permutation, randomize
from simplicity_bias.evaluators import register
from simplicity_bias.members import Eval, subkey
from simplicity_bias.metrics.classification import accuracy

SELECT_N = 16


@register("select_decorrelated", needs=("simple",), split="val")
def select_decorrelated(inputs):
  n = int(inputs.options.get("select_n", SELECT_N))
  x, y = inputs.x[:n], inputs.y[:n]
  perm = permutation(subkey(inputs.key, Eval.SELECT), x.shape[0])
  return {"select_acc": accuracy(inputs.logits_fn(
      randomize(x, inputs.info, "simple", perm, inputs.rotation)), y)}
