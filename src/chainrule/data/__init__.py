"""Data sets and loaders: ``ArrayDataset``, ``DataLoader``, bundled and file data sets.

>>> from chainrule.data import ArrayDataset, DataLoader, make_moons
>>> X, y = make_moons(200, noise=0.1, random_state=0)
>>> for xb, yb in DataLoader(ArrayDataset(X, y), batch_size=32, shuffle=True):
...     ...

scikit-learn is imported only inside the bundled loaders, so ``import chainrule.data`` needs
NumPy alone.
"""

from ._bundled import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_moons,
    make_regression,
)
from ._dataset import ArrayDataset, Dataset
from ._loader import DataLoader, default_collate
from ._mnist import load_mnist, read_idx

__all__ = [
    "ArrayDataset",
    "DataLoader",
    "Dataset",
    "default_collate",
    "load_breast_cancer",
    "load_diabetes",
    "load_digits",
    "load_iris",
    "load_mnist",
    "load_wine",
    "make_blobs",
    "make_moons",
    "make_regression",
    "read_idx",
]
