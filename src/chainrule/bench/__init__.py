"""The benchmark workloads, each run side by side with PyTorch and scikit-learn in one process
and reported as ratios: ``engine`` (W1 autodiff overhead, W5 import time), ``training`` (W2–W4).

``chainrule bench`` runs them all; ``benchmarks/*.py`` are entry points for each.
"""
