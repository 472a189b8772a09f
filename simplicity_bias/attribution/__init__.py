"""Feature attributions (input gradients, baselines), rank masks and ground-truth metrics."""
