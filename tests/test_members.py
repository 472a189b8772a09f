"""Every random draw's fold_in tag is named in members.py: no module folds a bare number (or a
module-level constant of its own) into a key."""

import ast
import os

from simplicity_bias import members

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "simplicity_bias")


def _fold_in_tags(tree):
  """The second argument of every ``jax.random.fold_in(key, tag)`` call in ``tree``."""
  for node in ast.walk(tree):
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == "fold_in" and len(node.args) == 2):
      yield node.args[1]


def _named_in_members(tag) -> bool:
  """``int(X.NAME)`` or ``X.NAME`` with X an enum of members.py; names bound inside the
  function (an epoch, a slot, a loop's purpose) are arguments, not tags."""
  if isinstance(tag, ast.Call) and getattr(tag.func, "id", "") == "int" and tag.args:
    tag = tag.args[0]
  if isinstance(tag, ast.Attribute) and isinstance(tag.value, ast.Name):
    return isinstance(getattr(members, tag.value.id, None), type)
  return isinstance(tag, ast.Name) and not tag.id.isupper() and not tag.id.startswith("_")


def test_every_fold_in_tag_is_named_in_members():
  bad = []
  for root, _, files in os.walk(PACKAGE):
    for name in files:
      if not name.endswith(".py"):
        continue
      path = os.path.join(root, name)
      with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
      for tag in _fold_in_tags(tree):
        if not _named_in_members(tag):
          bad.append(f"{os.path.relpath(path, PACKAGE)}:{tag.lineno}: {ast.unparse(tag)}")
  assert not bad, bad


def test_the_check_catches_a_bare_number():
  tree = ast.parse("import jax\nk = jax.random.fold_in(key, 1)\nj = jax.random.fold_in(key, _HALF)")
  assert [_named_in_members(t) for t in _fold_in_tags(tree)] == [False, False]
  tree = ast.parse("k = jax.random.fold_in(key, int(Step.SHUFFLE))\nj = jax.random.fold_in(k, epoch)")
  assert [_named_in_members(t) for t in _fold_in_tags(tree)] == [True, True]


def test_tag_values_never_change():
  """Recorded results depend on these numbers: names may be added, never renumbered."""
  assert [int(t) for t in members.Step] == [1, 2, 3, 4, 5, 6, 7]
  assert (int(members.Transform.DROPOUT), int(members.Eval.HALF_SUBSETS),
          int(members.Eval.SELECT), int(members.Attribution.RANDOM_RANKS),
          int(members.Strip.VALIDATION), int(members.Pool.DRAW),
          int(members.Pool.DECORRELATE)) == (1, 3, 4, 1, 1, 1, 2)
  assert [int(p) for p in members.Purpose] == list(range(10))


def test_keys_are_folded_only_in_members():
  """Every key of the package is derived in members.py (by a named tag): no module folds in a
  number of its own."""
  import os
  import re
  root = os.path.dirname(members.__file__)
  calls = re.compile(r"\bfold_in\(")
  found = []
  for folder, _, files in os.walk(root):
    for name in files:
      path = os.path.join(folder, name)
      if name.endswith(".py") and path != members.__file__:
        with open(path, encoding="utf-8") as f:
          found += [f"{path}:{i + 1}" for i, line in enumerate(f) if calls.search(line)]
  assert not found, found
