"""Interpretability for safety: activations, linear classifiers, the refusal direction, steering, attribution.

Works on plain transformers decoder models (local targets). Nothing here imports torch at package
import time; every module imports it inside functions or lazily.
"""
