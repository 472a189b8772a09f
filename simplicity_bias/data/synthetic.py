"""Synthetic slab datasets (linear, k-slab, noisy variants) as pure functions of a PRNG key.

A dataset is a static :class:`SyntheticSpec` (block kinds, counts, dimension, sizes, options) and
traced :class:`SyntheticParams` (width, per-block margins and noise fractions, slab mixture
probabilities). Because every float is a traced array, ``jax.vmap(make_dataset, in_axes=(None, 0,
0))(spec, keys, params)`` builds a whole stack of datasets (seeds x margin grid) in one program.

Conventions follow the original implementation by default (labels iid Bernoulli(1/2), unused
coordinates ``Unif[0, w)``); ``balanced_labels`` and ``centred_noise`` give the cleaner options.
The latent layout is the block list in order, then filler coordinates up to ``dim``. Rotation, when
on, is a Haar-random orthogonal ``W`` with ``x = z @ W``; metrics un-rotate with ``W.T``.
"""

import dataclasses
from typing import Dict, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from simplicity_bias.data import counter_rng
from simplicity_bias.validation import ConfigError

SLAB_COUNTS = (3, 5, 7)
# kind -> whether it takes a slab count k
BLOCK_KINDS = {
    "linear": False,
    "noisy_linear": False,
    "slab": True,
    "noisy_slab": True,
    "lsn_linear": False,   # x = s (the LSN linear coordinate, margin 1)
    "lsn_slab": False,     # x = ((s + 1) / 2) * sigma (the LSN 3-slab-like coordinate)
}
ROLES = ("simple", "complex", "other")
FILLERS = ("uniform", "gaussian")


@dataclasses.dataclass(frozen=True)
class Block:
  """A run of ``count`` latent coordinates of one kind.

  ``margin`` and ``noise_frac`` are only the defaults of the traced per-block parameters.
  """
  kind: str
  count: int = 1
  k: int = 0
  role: str = "other"
  margin: float = 0.1
  noise_frac: float = 0.0


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
  """Static structure of a synthetic dataset (fixes every shape)."""
  name: str
  blocks: Tuple[Block, ...]
  dim: int
  num_train: int
  num_val: int
  num_test: int
  rotate: bool = False
  filler: str = "uniform"
  centred_noise: bool = False
  balanced_labels: bool = False

  @property
  def num_features(self) -> int:
    return sum(b.count for b in self.blocks)

  @property
  def num_total(self) -> int:
    return self.num_train + self.num_val + self.num_test

  def _coords(self, role) -> Tuple[int, ...]:
    coords, start = [], 0
    for b in self.blocks:
      if b.role == role:
        coords.extend(range(start, start + b.count))
      start += b.count
    return tuple(coords)

  @property
  def simple_coords(self) -> Tuple[int, ...]:
    """Latent indices of the simple block S."""
    return self._coords("simple")

  @property
  def complex_coords(self) -> Tuple[int, ...]:
    """Latent indices of the complex block S^c."""
    return self._coords("complex")


class SyntheticParams(NamedTuple):
  """Traced float parameters; a leading axis on every leaf makes a grid of datasets."""
  width: jax.Array          # w: every block lives in [-w, w]
  margins: jax.Array        # [num_blocks] linear margin m or slab gap half-width g
  noise_fracs: jax.Array    # [num_blocks] fraction of noised points (noisy blocks only)
  p5_centre: jax.Array      # 5-slab: P(centre slab | y = 0)
  p7_inner: jax.Array       # 7-slab: P(inner slab | y = 1)
  p7_centre: jax.Array      # 7-slab: P(centre slab | y = 0)


class SyntheticData(NamedTuple):
  """One dataset (or, with a leading member axis, a stack of them). ``x = z @ rotation``."""
  x_train: jax.Array
  y_train: jax.Array
  x_val: jax.Array
  y_val: jax.Array
  x_test: jax.Array
  y_test: jax.Array
  rotation: jax.Array


# ----------------------------------------------------------------------------- parameters

# Aliases that set the traced parameters of every block they select (used by configs and grids).
PARAM_ALIASES = ("width", "margin", "linear_margin", "slab_margin", "simple_margin",
                 "complex_margin", "noise_frac", "p5_centre", "p7_inner", "p7_centre")


def default_params(spec: SyntheticSpec, width: float = 1.0) -> SyntheticParams:
  """Per-block defaults from the spec; margins scale with ``width`` (``m = g = 0.1 w``)."""
  return SyntheticParams(
      width=jnp.float32(width),
      margins=jnp.array([b.margin * width for b in spec.blocks], jnp.float32),
      noise_fracs=jnp.array([b.noise_frac for b in spec.blocks], jnp.float32),
      p5_centre=jnp.float32(0.75),
      p7_inner=jnp.float32(7 / 8),
      p7_centre=jnp.float32(0.5),
  )


def _alias_mask(spec: SyntheticSpec, alias: str) -> np.ndarray:
  selectors = {
      "margin": lambda b: b.kind not in ("lsn_linear", "lsn_slab"),
      "linear_margin": lambda b: b.kind in ("linear", "noisy_linear"),
      "slab_margin": lambda b: b.kind in ("slab", "noisy_slab"),
      "simple_margin": lambda b: b.role == "simple",
      "complex_margin": lambda b: b.role == "complex",
      "noise_frac": lambda b: b.kind.startswith("noisy_"),
  }
  return np.array([selectors[alias](b) for b in spec.blocks], bool)


def set_param(spec: SyntheticSpec, params: SyntheticParams, alias: str, value) -> SyntheticParams:
  """Returns ``params`` with the parameter(s) named by ``alias`` set to ``value``."""
  if alias not in PARAM_ALIASES:
    raise ConfigError(f"unknown dataset parameter {alias!r}; valid names: {', '.join(PARAM_ALIASES)}")
  value = jnp.asarray(value, jnp.float32)
  if alias in ("width", "p5_centre", "p7_inner", "p7_centre"):
    return params._replace(**{alias: value})
  mask = _alias_mask(spec, alias)
  if not mask.any():
    raise ConfigError(f"dataset parameter {alias!r} selects no block of dataset {spec.name!r}; "
                      f"its blocks are {[b.kind for b in spec.blocks]}")
  field = "noise_fracs" if alias == "noise_frac" else "margins"
  return params._replace(**{field: jnp.where(mask, value, getattr(params, field))})


def _fmt(values) -> str:
  """Concrete parameter values as typed (float32 -0.1 prints as -0.1, not -0.10000000149)."""
  flat = [float(f"{float(v):.6g}") for v in np.ravel(values)]
  return f"{flat[0]:g}" if len(set(flat)) == 1 else "(" + ", ".join(f"{v:g}" for v in flat) + ")"


def margin_field(spec: SyntheticSpec, block: int, given=()) -> str:
  """The config field that set block ``block``'s margin: the last of the ``given`` aliases that
  selects it (the user's own words), else the alias for its kind."""
  for alias in reversed(list(given)):
    if alias in ("margin", "linear_margin", "slab_margin", "simple_margin", "complex_margin") \
        and _alias_mask(spec, alias)[block]:
      return alias
  kind = spec.blocks[block].kind
  return "linear_margin" if "linear" in kind else "slab_margin"


def check_params(spec: SyntheticSpec, params: SyntheticParams, where: str = "data",
                 given=()) -> None:
  """Host-side range checks on concrete parameters; the ConfigError names the field that set
  the bad value (``given``: the aliases the config set, in order) and prints it as typed."""
  width = np.asarray(params.width)
  if np.any(width <= 0):
    raise ConfigError(f"{where}.width={_fmt(width)} must be > 0.")
  margins, noise = np.asarray(params.margins), np.asarray(params.noise_fracs)
  for i, b in enumerate(spec.blocks):
    if b.kind in ("lsn_linear", "lsn_slab"):
      continue
    m = margins[..., i]
    field = f"{where}.{margin_field(spec, i, given)}"
    if np.any(m < 0):
      raise ConfigError(f"{field}={_fmt(m)} is negative; use a margin in [0, width).")
    if b.kind in ("linear", "noisy_linear") and np.any(m >= width):
      raise ConfigError(f"{field}={_fmt(m)} must be smaller than {where}.width={_fmt(width)}; "
                        "lower the margin or raise the width.")
    if b.kind in ("slab", "noisy_slab") and np.any(2 * (b.k - 1) * m >= 2 * width):
      raise ConfigError(f"{field}={_fmt(m)} leaves no room for the {b.k} slabs in [-w, w] "
                        f"(needs margin < width/{b.k - 1} = {float(np.min(width)) / (b.k - 1):g}); "
                        "lower the margin.")
    if np.any((noise[..., i] < 0) | (noise[..., i] > 1)):
      raise ConfigError(f"{where}.noise_frac={_fmt(noise[..., i])} must be in [0, 1].")
  for name in ("p5_centre", "p7_inner", "p7_centre"):
    p = np.asarray(getattr(params, name))
    if np.any((p < 0) | (p > 1)):
      raise ConfigError(f"{where}.{name}={_fmt(p)} must be a probability in [0, 1].")


def validate_spec(spec: SyntheticSpec, where: str = "data") -> None:
  """Static checks: block kinds, slab counts, sizes, dimension (raise ConfigError)."""
  for i, b in enumerate(spec.blocks):
    if b.kind not in BLOCK_KINDS:
      raise ConfigError(f"{where}: block {i} has unknown kind {b.kind!r}; valid kinds: "
                        f"{', '.join(BLOCK_KINDS)}.")
    if BLOCK_KINDS[b.kind] and b.k not in SLAB_COUNTS:
      raise ConfigError(f"{where}: block {i} ({b.kind}) has k={b.k}; k must be one of "
                        f"{SLAB_COUNTS}.")
    if b.count < 1:
      raise ConfigError(f"{where}: block {i} ({b.kind}) has count {b.count}; use count >= 1.")
    if b.role not in ROLES:
      raise ConfigError(f"{where}: block {i} has role {b.role!r}; valid roles: {', '.join(ROLES)}.")
  for field in ("num_train", "num_test"):
    if getattr(spec, field) < 1:
      raise ConfigError(f"{where}.{field} is {getattr(spec, field)}; it must be a positive size.")
  if spec.num_val < 0:
    raise ConfigError(f"{where}.num_val is {spec.num_val}; it must be >= 0.")
  if spec.dim < spec.num_features:
    raise ConfigError(f"{where}.dim={spec.dim} is smaller than the {spec.num_features} feature "
                      f"coordinates of {spec.name!r}; raise data.dim to at least {spec.num_features}.")
  if spec.filler not in FILLERS:
    raise ConfigError(f"{where}.filler {spec.filler!r} is unknown; valid: {', '.join(FILLERS)}.")


# ----------------------------------------------------------------------------- 1-D blocks

def slab_width(k: int, width, margin):
  """Width of one of the k equal slabs of [-w, w] separated by gaps of 2g."""
  return (2 * width - 2 * (k - 1) * margin) / k


def slab_interval(j, k: int, width, margin):
  """``(lo, length)`` of |x| for slab ``j`` (0 = centre, class 0; class alternates with j)."""
  sw = slab_width(k, width, margin)
  lo = jnp.where(j == 0, 0.0, (j - 0.5) * sw + 2 * j * margin)
  length = jnp.where(j == 0, 0.5 * sw, sw)
  return lo, length


def _slab_index(u, y, k: int, params: SyntheticParams):
  """Which slab (distance from the centre) each point falls in, given its label and a uniform."""
  if k == 3:
    return jnp.where(y == 1, 1, 0)
  if k == 5:
    return jnp.where(y == 1, 1, jnp.where(u < params.p5_centre, 0, 2))
  # k == 7
  return jnp.where(y == 1, jnp.where(u < params.p7_inner, 1, 3),
                   jnp.where(u < params.p7_centre, 0, 2))


def _sign(words):
  """±1 from the top bit of uint32 words."""
  return jnp.where(words >> 31 == 1, 1.0, -1.0).astype(jnp.float32)


def _mixture_uniform(words):
  """Uniform on [0, 1) from the 31 bits below the sign bit (resolution 2^-31)."""
  return (words & jnp.uint32(0x7FFFFFFF)).astype(jnp.float32) * (1.0 / 2 ** 31)


def sample_slab(key, y, k: int, params: SyntheticParams, margin):
  """k-slab values for labels ``y`` (any shape): ``sigma * (lo_j + len_j * U)``.

  Two random words per value: one gives U, the other the sign (top bit) and the slab choice."""
  w_u = counter_rng.bits(key, y.shape, stream=0)
  w_choice = counter_rng.bits(key, y.shape, stream=1)
  j = _slab_index(_mixture_uniform(w_choice), y, k, params)
  lo, length = slab_interval(j, k, params.width, margin)
  return _sign(w_choice) * (lo + length * counter_rng.uniform_from(w_u))


def sample_slab_gaps(key, shape, k: int, params: SyntheticParams, margin):
  """Values uniform in the k − 1 gaps between the slabs of a k-slab coordinate (label-free):
  gap j (1 <= j <= (k−1)/2 on each side) is |x| in [lo_j − 2g, lo_j), lo_j the start of slab j."""
  half = (k - 1) // 2
  w_u = counter_rng.bits(key, shape, stream=2)
  w_choice = counter_rng.bits(key, shape, stream=3)
  j = 1 + jnp.minimum((_mixture_uniform(w_choice) * half).astype(jnp.int32), half - 1)
  lo, _ = slab_interval(j, k, params.width, margin)
  return _sign(w_choice) * (lo - 2 * margin * counter_rng.uniform_from(w_u))


def sample_linear(key, y, params: SyntheticParams, margin):
  """Linear values: class 1 in [m, w], class 0 in [-w, -m]."""
  s = 2.0 * y - 1.0
  return s * (margin + (params.width - margin) * counter_rng.uniform(key, y.shape))


def noise_mask(key, num_points: int, noise_frac, count: int):
  """Exactly ``floor(noise_frac * n)`` noised points per coordinate, chosen over all n points.

  A random permutation is a random rank for every point; ranks below the count are noised, so
  the count is exact while ``noise_frac`` stays a traced value.
  """
  ranks = jax.vmap(lambda k: counter_rng.permutation(k, num_points))(jax.random.split(key, count))
  return (ranks < jnp.floor(noise_frac * num_points)).T


def sample_block(key, y, block: Block, params: SyntheticParams, margin, noise_frac):
  """``[n, block.count]`` latent values of one block for labels ``y`` ([n])."""
  n = y.shape[0]
  yy = jnp.broadcast_to(y[:, None], (n, block.count))
  k_val, k_mask, k_noise = jax.random.split(key, 3)
  if block.kind == "linear":
    return sample_linear(k_val, yy, params, margin)
  if block.kind == "noisy_linear":
    # Noised points fall inside the margin, independent of the label: a rule on this
    # coordinate alone then tops out at accuracy 1 - noise_frac / 2.
    clean = sample_linear(k_val, yy, params, margin)
    noisy = margin * (2.0 * counter_rng.uniform(k_noise, yy.shape) - 1.0)
    return jnp.where(noise_mask(k_mask, n, noise_frac, block.count), noisy, clean)
  if block.kind == "slab":
    return sample_slab(k_val, yy, block.k, params, margin)
  if block.kind == "noisy_slab":
    # As for the noisy linear block (App. B): noised points are moved into the gaps between
    # the slabs, independent of the label; the coordinate alone caps accuracy at 1 - p/2.
    clean = sample_slab(k_val, yy, block.k, params, margin)
    gaps = sample_slab_gaps(k_noise, yy.shape, block.k, params, margin)
    return jnp.where(noise_mask(k_mask, n, noise_frac, block.count), gaps, clean)
  if block.kind == "lsn_linear":
    return (2.0 * yy - 1.0).astype(jnp.float32)
  if block.kind == "lsn_slab":
    return yy.astype(jnp.float32) * _sign(counter_rng.bits(k_val, yy.shape))
  raise ValueError(f"unknown block kind {block.kind!r}")  # validate_spec catches this first


# ----------------------------------------------------------------------------- composition

def haar_orthogonal(key, dim: int):
  """A Haar-distributed orthogonal matrix: QR of a Gaussian with signs fixed by diag(R)."""
  q, r = jnp.linalg.qr(jax.random.normal(key, (dim, dim)))
  return q * jnp.sign(jnp.diag(r))[None, :]


def normal(key, shape):
  """Standard normal values by Box–Muller from two uniform words per pair."""
  size = int(np.prod(shape))
  half = (size + 1) // 2
  u1 = 1.0 - counter_rng.uniform(key, (half,), stream=4)  # in (0, 1]: log is finite
  u2 = counter_rng.uniform(key, (half,), stream=5)
  radius = jnp.sqrt(-2.0 * jnp.log(u1))
  angle = 2.0 * jnp.pi * u2
  return jnp.concatenate([radius * jnp.cos(angle), radius * jnp.sin(angle)])[:size].reshape(shape)


def sample_labels(key, n: int, balanced: bool):
  if balanced:
    return (counter_rng.permutation(key, n) % 2).astype(jnp.int32)
  return (counter_rng.bits(key, (n,)) >> 31).astype(jnp.int32)


def sample_latent(spec: SyntheticSpec, key, params: SyntheticParams):
  """Latent ``[n_total, dim]`` coordinates and labels for all splits together."""
  n = spec.num_total
  k_labels, k_fill, *k_blocks = jax.random.split(key, 2 + len(spec.blocks))
  y = sample_labels(k_labels, n, spec.balanced_labels)
  columns = [sample_block(kb, y, b, params, params.margins[i], params.noise_fracs[i])
             for i, (kb, b) in enumerate(zip(k_blocks, spec.blocks))]
  num_fill = spec.dim - spec.num_features
  if num_fill:
    if spec.filler == "gaussian":
      fill = normal(k_fill, (n, num_fill))
    else:
      fill = params.width * counter_rng.uniform(k_fill, (n, num_fill))
      if spec.centred_noise:
        fill = fill - 0.5 * params.width
    columns.append(fill)
  return jnp.concatenate(columns, axis=1).astype(jnp.float32), y


def make_dataset(spec: SyntheticSpec, key, params: SyntheticParams) -> SyntheticData:
  """Draws one dataset; vmap over ``key`` and ``params`` for a stack of them."""
  k_data, k_rot = jax.random.split(key)
  z, y = sample_latent(spec, k_data, params)
  if spec.rotate:
    rotation = haar_orthogonal(k_rot, spec.dim)
  else:
    rotation = jnp.eye(spec.dim, dtype=jnp.float32)
  x = z @ rotation
  a, b = spec.num_train, spec.num_train + spec.num_val
  return SyntheticData(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], rotation)


# ----------------------------------------------------------------------------- named datasets

def _spec(name, blocks, dim, sizes, **options) -> SyntheticSpec:
  num_train, num_val, num_test = sizes
  spec = SyntheticSpec(name=name, blocks=tuple(blocks), dim=dim, num_train=num_train,
                       num_val=num_val, num_test=num_test, **options)
  validate_spec(spec)
  return spec


def lms(k: int, dim: int = 50, sizes=(100_000, 10_000, 10_000), num_slabs: Optional[int] = None,
        **options) -> SyntheticSpec:
  """LMS-k: one linear coordinate (S) and ``num_slabs`` k-slabs (S^c, default dim - 1)."""
  num_slabs = dim - 1 if num_slabs is None else num_slabs
  return _spec(f"lms{k}", [Block("linear", 1, role="simple"),
                           Block("slab", num_slabs, k=k, role="complex")], dim, sizes, **options)


def noisy_lms(k: int = 7, noise_frac: float = 0.1, dim: int = 50, sizes=(40_000, 5_000, 10_000),
              num_slabs: Optional[int] = None, **options) -> SyntheticSpec:
  """L̂MS-k: a noisy linear coordinate (fraction ``noise_frac`` inside the margin) and k-slabs."""
  num_slabs = dim - 1 if num_slabs is None else num_slabs
  return _spec(f"noisy_lms{k}", [Block("noisy_linear", 1, role="simple", noise_frac=noise_frac),
                                 Block("slab", num_slabs, k=k, role="complex")], dim, sizes,
               **options)


def ms(k_simple: int = 5, k_complex: int = 7, dim: int = 50, sizes=(100_000, 10_000, 50_000),
       noise_frac: float = 0.0, **options) -> SyntheticSpec:
  """MS-(k_simple, k_complex): one k_simple-slab (S) and dim - 1 k_complex-slabs (S^c)."""
  kind = "noisy_slab" if noise_frac > 0 else "slab"
  prefix = "noisy_" if noise_frac > 0 else ""
  return _spec(f"{prefix}ms{k_simple}{k_complex}",
               [Block(kind, 1, k=k_simple, role="simple", noise_frac=noise_frac),
                Block("slab", dim - 1, k=k_complex, role="complex")], dim, sizes, **options)


def ms_uniform(k: int, dim: int = 50, sizes=(40_000, 5_000, 10_000), **options) -> SyntheticSpec:
  """MS-k: ``dim`` k-slabs, no simple/complex split (all coordinates are role 'other')."""
  return _spec(f"ms{k}", [Block("slab", dim, k=k)], dim, sizes, **options)


def adv_ms57(dim: int = 20, sizes=(6_000, 1_000, 5_000), **options) -> SyntheticSpec:
  """AdvMS-(5,7): 10 5-slabs with g = .05 (S) and 10 7-slabs with g = .15 (S^c), d = 20."""
  half = dim // 2
  return _spec("adv_ms57", [Block("slab", half, k=5, role="simple", margin=0.05),
                            Block("slab", dim - half, k=7, role="complex", margin=0.15)],
               dim, sizes, **options)


def lsn(dim: int = 200, sizes=(10_000, 1_000, 5_000), **options) -> SyntheticSpec:
  """LSN (Theorem 1): x1 = s (S), x2 = ((s+1)/2) sigma (S^c), the rest N(0, 1) noise."""
  options.setdefault("filler", "gaussian")
  return _spec("lsn", [Block("lsn_linear", 1, role="simple"),
                       Block("lsn_slab", 1, role="complex")], dim, sizes, **options)


# name -> builder(dim, sizes, **options); the defaults are the paper's datasets.
DATASETS = {
    "lms5": lambda **kw: lms(5, **kw),
    "lms7": lambda **kw: lms(7, **kw),
    "noisy_lms5": lambda **kw: noisy_lms(5, **kw),
    "noisy_lms7": lambda **kw: noisy_lms(7, **kw),
    "ms57": lambda **kw: ms(5, 7, **kw),
    "noisy_ms57": lambda noise_frac=0.1, **kw: ms(5, 7, noise_frac=noise_frac, **kw),
    "ms5": lambda **kw: ms_uniform(5, **kw),
    "ms7": lambda **kw: ms_uniform(7, **kw),
    "adv_ms57": adv_ms57,
    "lsn": lsn,
}


def parse_blocks(text: str) -> Tuple[Block, ...]:
  """Parses a custom layout such as ``"linear:1:simple,slab5:49:complex"``.

  Each item is ``kind[k]:count[:role]``; k is the trailing digit of slab kinds (``slab7``).
  """
  blocks = []
  for item in [t.strip() for t in text.split(",") if t.strip()]:
    parts = item.split(":")
    if len(parts) not in (2, 3):
      raise ConfigError(f"data.blocks item {item!r} must look like 'slab5:49:complex' "
                        "(kind[k]:count[:role]).")
    kind, k = parts[0], 0
    if kind[-1:].isdigit():
      kind, k = kind.rstrip("0123456789"), int(kind[len(kind.rstrip("0123456789")):])
    try:
      count = int(parts[1])
    except ValueError:
      raise ConfigError(f"data.blocks item {item!r}: count {parts[1]!r} is not an integer.")
    role = parts[2] if len(parts) == 3 else "other"
    blocks.append(Block(kind, count, k=k, role=role))
  if not blocks:
    raise ConfigError("data.blocks is empty; give a layout such as 'linear:1:simple,slab5:49:complex'.")
  return tuple(blocks)


def spec_from_config(data_config) -> SyntheticSpec:
  """Builds (and validates) the static spec from a ``config.data`` ConfigDict."""
  c = data_config
  sizes = (c.num_train, c.get("num_val", 0), c.num_test)
  for field, value in zip(("num_train", "num_val", "num_test"), sizes):
    if value is None or value < 0 or (value == 0 and field != "num_val"):
      raise ConfigError(f"data.{field} is {value}; it must be a positive number of samples.")
  options = dict(rotate=bool(c.get("rotate", False)),
                 centred_noise=bool(c.get("centred_noise", False)),
                 balanced_labels=bool(c.get("balanced_labels", False)))
  if c.name == "custom":
    return _spec("custom", parse_blocks(c.blocks), c.dim, sizes,
                 filler=c.get("filler", "uniform"), **options)
  if c.name not in DATASETS:
    raise ConfigError(f"unknown dataset data.name={c.name!r}; valid names: "
                      f"{', '.join(sorted(DATASETS))}, custom.")
  kwargs = dict(dim=c.dim, sizes=sizes, **options)
  if c.get("num_slabs", None) is not None:
    kwargs["num_slabs"] = c.num_slabs
  if c.name.startswith("noisy_") and c.get("noise_frac", None) is not None:
    kwargs["noise_frac"] = c.noise_frac
  try:
    return DATASETS[c.name](**kwargs)
  except TypeError as e:
    raise ConfigError(f"dataset {c.name!r} does not take one of the fields given ({e}).")


def params_from_config(spec: SyntheticSpec, data_config) -> SyntheticParams:
  """Defaults of the spec, then every alias field of ``config.data`` that is set."""
  params = default_params(spec, width=float(data_config.get("width", 1.0)))
  for alias in PARAM_ALIASES:
    if alias == "width":
      continue
    value = data_config.get(alias, None)
    if value is not None:
      params = set_param(spec, params, alias, value)
  return params


def stack_params(params_list) -> SyntheticParams:
  """Stacks a list of parameter sets on a new leading (member) axis."""
  return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *params_list)


def describe(spec: SyntheticSpec) -> Dict[str, object]:
  """A JSON-friendly summary of the static structure."""
  return {
      "name": spec.name, "dim": spec.dim, "rotate": spec.rotate,
      "blocks": [dataclasses.asdict(b) for b in spec.blocks],
      "num_train": spec.num_train, "num_val": spec.num_val, "num_test": spec.num_test,
      "simple_coords": list(spec.simple_coords), "complex_coords": list(spec.complex_coords),
  }
