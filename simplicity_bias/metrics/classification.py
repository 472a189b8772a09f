"""Accuracy, rank-form ROC-AUC and the AUC's null standard deviation (all jit/vmap friendly)."""

import jax.numpy as jnp
import optax


def margin_scores(logits):
  """The score whose ranking defines the AUC: ``logit_1 - logit_0``."""
  return logits[..., 1] - logits[..., 0]


def accuracy(logits, labels):
  return jnp.mean(jnp.argmax(logits, axis=-1) == labels)


def cross_entropy(logits, labels):
  """Mean softmax cross-entropy on integer labels."""
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def average_ranks(scores):
  """1-based ranks with ties given their average rank (as the Mann-Whitney statistic needs)."""
  sorted_scores = jnp.sort(scores)
  below = jnp.searchsorted(sorted_scores, scores, side="left")
  upto = jnp.searchsorted(sorted_scores, scores, side="right")
  return (below + upto + 1) / 2.0


def roc_auc(scores, labels):
  """ROC-AUC in rank form: P(score_pos > score_neg) + P(tie)/2; NaN when a class is absent."""
  labels = labels.astype(bool)
  # Counts as floats: n0 * n1 overflows int32 beyond ~93k balanced points.
  n1 = jnp.sum(labels).astype(jnp.float32)
  n0 = labels.shape[0] - n1
  rank_sum = jnp.sum(jnp.where(labels, average_ranks(scores.astype(jnp.float32)), 0.0))
  auc = (rank_sum - n1 * (n1 + 1) / 2.0) / (n0 * n1)
  return jnp.where((n0 > 0) & (n1 > 0), auc, jnp.nan)


def auc_null_std(labels):
  """Standard deviation of the AUC of a label-independent score: sqrt((n+1)/(12 n0 n1))."""
  labels = labels.astype(bool)
  n = labels.shape[0]
  n1 = jnp.sum(labels)
  n0 = n - n1
  return jnp.sqrt((n + 1) / (12.0 * n0 * n1))
