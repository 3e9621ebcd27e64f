"""scikit-learn's own estimator checks over all three estimators, with no expected failures:
scikit-learn's MLPs have none either (its ``PER_ESTIMATOR_XFAIL_CHECKS`` lists no MLP).

As scikit-learn's own test suite does (``_test_common/instance_generator.py``: ``MLPClassifier:
dict(max_iter=100)``), the MLPs are checked with ``max_iter=100`` instead of 200, which halves
the time and still meets every accuracy threshold. The Rumelhart classifier gets 100 sweeps
instead of the seed's 10: ``check_classifiers_train`` wants 83% accuracy, which ten
full-batch sweeps of the delta rule do not reach.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule.estimators import MLPClassifier, MLPRegressor, Rumelhart1986PerceptronClassifier

ESTIMATORS = [
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    Rumelhart1986PerceptronClassifier(epochs=100),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
