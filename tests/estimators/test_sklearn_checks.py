"""scikit-learn's own estimator checks over all three estimators with default parameters, with
no expected failures: scikit-learn's MLPs have none either (its ``PER_ESTIMATOR_XFAIL_CHECKS``
lists no MLP). Not run here with ``solver='lbfgs'``: about a minute per estimator, and
scikit-learn's own lbfgs MLPClassifier fails ``check_classifiers_multilabel_output_format_
predict_proba`` (fully converged logistic outputs round to 1.0) exactly as ours does."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule.estimators import MLPClassifier, MLPRegressor, Rumelhart1986PerceptronClassifier

ESTIMATORS = [MLPClassifier(), MLPRegressor(), Rumelhart1986PerceptronClassifier()]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
