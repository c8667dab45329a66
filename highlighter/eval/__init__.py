"""Evaluation: metrics and synthetic scenarios with exact ground truth."""
