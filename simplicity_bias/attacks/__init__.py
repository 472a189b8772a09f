"""Adversarial attacks: per-example PGD and universal (label-signed) perturbations."""
