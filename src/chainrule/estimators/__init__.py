"""scikit-learn estimators built on chainrule's engine.

``MLPClassifier`` and ``MLPRegressor`` follow scikit-learn's MLP estimators step for step (the
same initial weights, batches, gradients and updates for the same ``random_state``; for
``solver='lbfgs'`` SciPy's L-BFGS-B on the same objective and gradient) and add dropout, class
weights, more activations and regression losses, early stopping on the loss, optimiser state
kept across warm starts and an opt-in progress bar. ``Rumelhart1986PerceptronClassifier``
is the network of Rumelhart, Hinton and Williams (1986): logistic units, squared error, one
weight change per sweep with the generalised delta rule.

>>> from chainrule.estimators import MLPClassifier
>>> clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=50, random_state=0)
>>> clf.fit(X, y).score(X, y)                                   # doctest: +SKIP

scikit-learn is imported here (the estimators subclass its ``BaseEstimator``); PyTorch and
matplotlib are not.
"""

from ._mlp_estimators import MLPClassifier, MLPRegressor
from ._rumelhart import Rumelhart1986PerceptronClassifier

__all__ = ["MLPClassifier", "MLPRegressor", "Rumelhart1986PerceptronClassifier"]
