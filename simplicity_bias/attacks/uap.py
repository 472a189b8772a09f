"""Universal adversarial perturbations (UAPs) for binary classifiers, signed by the label.

One perturbation ``u`` (shape of one example) is shared by every input, with its sign set by the
label: ``x' = x + s(y) u`` with ``s(y) = 2y - 1`` in {-1, +1}. A fixed direction that moves class
1 towards class 0 must move class 0 the opposite way, so an unsigned ``u`` would help one class
as much as it hurts the other; with the sign, ``u`` is the direction that lowers every example's
signed margin at once. Multi-class labels have no such sign and are not supported: the functions
that see logits raise a ``ValueError`` at trace time when the model does not output 2 classes.

A UAP is fitted on one split and evaluated on another (held out), so fitting (:func:`svd_uap`,
:func:`as_uap`) and applying (:func:`apply_uap`, :func:`uap_accuracy`) are separate functions.
All are pure, jit-able and vmappable over stacked member params and a traced ``eps``.
"""

import jax
import jax.numpy as jnp
import optax

from simplicity_bias.attacks.pgd import (_TINY, _check_norm, ascent_direction, default_step_size,
                                         project, random_in_ball)


def label_sign(y):
  """``s(y) = 2y - 1``: -1 for class 0, +1 for class 1 (float [n])."""
  return 2.0 * y.astype(jnp.float32) - 1.0


def _check_binary(logits):
  if logits.shape[-1] != 2:
    raise ValueError(
        f"label-signed universal perturbations need 2 classes, the model outputs "
        f"{logits.shape[-1]}")


def apply_uap(x, y, u, box=None):
  """``x + s(y) u`` for every example, clipped to ``box=(lo, hi)`` when given."""
  s = label_sign(y).astype(x.dtype)
  x_adv = x + jnp.reshape(s, s.shape + (1,) * (x.ndim - 1)) * u[None]
  if box is not None:
    lo, hi = box
    x_adv = jnp.clip(x_adv, lo, hi)
  return x_adv


def uap_accuracy(predict, params, x, y, u, box=None):
  """Accuracy of ``predict`` on :func:`apply_uap` inputs (evaluate on a held-out split)."""
  logits = predict(params, apply_uap(x, y, u, box))
  _check_binary(logits)
  return jnp.mean(jnp.argmax(logits, axis=-1) == y)


def svd_uap(deltas, y, eps):
  """Top right singular vector of the label-signed per-example perturbations, scaled to ``eps``.

  The rows of ``M`` are ``s(y_i) delta_i`` (flattened), e.g. per-example PGD perturbations. If
  they share one direction, that direction dominates ``M`` and is its top right singular vector
  ``v``. Its sign is fixed so that the mean of ``s_i delta_i . v`` is >= 0 (``v`` points the way
  the per-example attacks push), then it is scaled to l2 norm ``eps``.

  A thin SVD (``full_matrices=False``) costs O(n D min(n, D)) for n perturbations of dimension D,
  which is cheap at the sizes used here (D = 6144 for MNIST-CIFAR, n in the thousands); only the
  top vector is used, so a few power iterations on ``M^T M`` would do for much larger inputs.

  Args:
    deltas: perturbations [n, ...] of the fitting split.
    y: their binary labels [n].
    eps: l2 norm of the result; may be traced (0 gives exactly 0).

  Returns:
    ``u`` with the shape of one example (``deltas.shape[1:]``).
  """
  n = deltas.shape[0]
  m = label_sign(y).astype(deltas.dtype)[:, None] * deltas.reshape(n, -1)
  _, _, vt = jnp.linalg.svd(m, full_matrices=False)
  v = vt[0]
  v = jnp.where(jnp.mean(m @ v) >= 0, v, -v)
  v = v / jnp.maximum(jnp.linalg.norm(v), _TINY)
  return (eps * v).reshape(deltas.shape[1:])


def as_uap(predict, params, x, y, key, *, eps, step_size=None, num_steps, norm="l2", box=None,
           random_start=False, keep_best=True):
  """Projected gradient ascent on one shared, label-signed perturbation ``u``.

  Maximises the mean cross-entropy of :func:`apply_uap` inputs (box-clipped when ``box`` is
  given, so clipped coordinates pass no gradient) over ``||u|| <= eps``: each step moves ``u``
  along the unit ``norm`` steepest-ascent direction of the full-batch gradient (``sign(g)`` or
  ``g / ||g||_2``) and projects back onto the ball. Pass a subsample as ``x`` if the fitting
  split is too large for one batch.

  Args:
    predict: ``predict(params, x) -> logits [n, 2]``.
    params: any pytree.
    x: fitting inputs [n, ...]; y: binary labels [n].
    key: PRNG key for the random start (unused when ``random_start=False``).
    eps: ball radius; may be traced.
    step_size: defaults to ``2.5 * eps / num_steps``; may be traced.
    num_steps: gradient steps (static).
    norm: ``'l2'`` or ``'linf'`` (static).
    box: ``(lo, hi)`` input domain, or None.
    random_start: start uniformly in the ball instead of at 0. At ``u = 0`` the gradient is the
      mean of the label-signed input gradients, which is generically non-zero, so 0 is a fine
      start.
    keep_best: return the iterate with the highest mean loss seen (start and last included)
      instead of the last one. As in :func:`~simplicity_bias.attacks.pgd.pgd_run`, the last
      iterate is scored by one more gradient evaluation, so the model is compiled once.

  Returns:
    ``u`` with the shape of one example and ``||u|| <= eps``.
  """
  _check_norm(norm)
  if step_size is None:
    step_size = default_step_size(eps, num_steps)
  shape = x.shape[1:]
  if random_start:
    u = random_in_ball(key, (1,) + shape, eps, norm, x.dtype)[0]
  else:
    u = jnp.zeros(shape, x.dtype)

  def mean_loss(u):
    logits = predict(params, apply_uap(x, y, u, box))
    _check_binary(logits)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))

  value_and_grad = jax.value_and_grad(mean_loss)

  def proj(u):
    return project(u[None], eps, norm)[0]

  def step(carry, _):
    u, best_u, best_loss = carry
    loss, grad = value_and_grad(u)
    better = (loss > best_loss) | (not keep_best)
    best_u = jnp.where(better, u, best_u)
    best_loss = jnp.where(better, loss, best_loss)
    u = u + step_size * ascent_direction(grad[None], norm)[0]
    return (proj(u), best_u, best_loss), None

  u = proj(u)
  init_loss = jnp.full((), -jnp.inf, jax.eval_shape(mean_loss, u).dtype)
  # num_steps + 1 evaluations: the last one only scores the final iterate (its step is dropped).
  (_, best_u, _), _ = jax.lax.scan(step, (u, u, init_loss), None, length=num_steps + 1)
  return best_u
