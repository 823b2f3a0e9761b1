"""Differential-privacy training with Opacus and its empirical audit."""
