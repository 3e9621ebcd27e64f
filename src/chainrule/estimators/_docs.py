"""The parameters and attributes that MLPClassifier's and MLPRegressor's docstrings share."""

import textwrap

SHARED_PARAMETERS = textwrap.dedent("""\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Units in each hidden layer.
    activation : str, default='relu'
        Activation of the hidden layers: 'identity', 'logistic', 'tanh', 'relu',
        'leaky_relu' (slope 0.01), 'gelu' (exact, with erf) or 'elu'; ``chainrule.nn.MLP``'s
        names, so 'sigmoid' is 'logistic' and 'leaky-relu' is 'leaky_relu'.
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'lbfgs': SciPy's L-BFGS-B on the packed weights with the full-batch objective and
        gradient from chainrule's engine, as scikit-learn's (good for small data sets; no
        ``partial_fit``, dropout or callbacks). 'sgd' and 'adam': scikit-learn's stochastic
        solvers, on ``chainrule.optim.SGD`` / ``Adam`` (same updates).
    alpha : float, default=1e-4
        L2 penalty: the objective is data loss + α/(2·Σw)·Σ‖W‖² over the weights (not the
        biases), Σw the batch's total sample weight (its size when unweighted).
    batch_size : int or 'auto', default='auto'
        min(200, n_samples) for 'auto'; clipped to n_samples with a warning.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        SGD's schedule: η₀; η₀/(t + 1)^power_t after each epoch (t = samples seen); or η
        divided by 5 when ``n_iter_no_change`` epochs do not improve by ``tol``.
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or of L-BFGS iterations.
    shuffle : bool, default=True
        Shuffle the sample order before each epoch (the same draws as scikit-learn's).
    random_state : int, RandomState instance or None, default=None
        Initial weights, shuffling, the validation split and dropout masks; the same seed gives
        scikit-learn's initial weights and batch order.
    tol : float, default=1e-4
        Improvement of the loss or score that counts (stochastic solvers); for 'lbfgs', L-BFGS-B
        stops when every projected gradient component is below it (SciPy's ``gtol``).
    verbose : bool, default=False
        Print scikit-learn's lines on stdout: ``Iteration n, loss = ...`` after each epoch,
        ``Validation score: ...`` with early stopping, and the stopping messages ('lbfgs'
        prints nothing, as scikit-learn's with SciPy >= 1.15).
    warm_start : bool, default=False
        Continue from the fitted network, and from the optimiser's state (momenta, Adam's
        moments and step count), where scikit-learn starts a new optimiser.
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data; stop when the monitored quantity has not
        improved by ``tol`` for ``n_iter_no_change`` epochs, and restore the best weights.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's decay rates and ε (scikit-learn's placement of ε).
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
        'lbfgs' only: at most this many evaluations of the objective (SciPy's ``maxfun``).
    dropout : float, default=0.0
        Dropout probability after each hidden activation (inverted dropout, training only).
    progress_bar : bool, default=False
        Show a progress bar over the epochs (tqdm, on stderr) with the loss.
    early_stopping_monitor : {'score', 'loss'}, default='score'
        What early stopping watches: the validation score (scikit-learn's rule) or the
        validation loss.
    callbacks : list of chainrule.train.Callback or None, default=None
        Run at the training events of every fit and partial_fit as under a ``Learner``
        (``order``, the ``Cancel*Exception``s, ``teardown``), with ``learner_`` as their
        ``learner``: telemetry records as under a Learner, and
        ``chainrule.train.diagnose(est.learner_)`` reads it after the fit.
        ``CancelFitException`` ends the fit normally (an epoch in progress is not recorded).
        A non-finite training loss does what it does in scikit-learn 1.9: training goes on
        (``loss_curve_`` records NaN, which counts as no worse), to ``max_iter`` with its
        ConvergenceWarning unless the stopping rule fires; with ``early_stopping`` the best
        weights are restored, otherwise ``fit`` ends with scikit-learn's ValueError
        ("Solver produced non-finite parameter weights...") when the weights are not finite.
        Pass a ``chainrule.train.TerminateOnNaNCallback`` to stop at the first non-finite loss
        instead, before that batch's backward pass and step (the same ValueError, whose cause
        is the ``NonFiniteLossError``). Callbacks keep their records over fits; pass new
        instances to record a fit apart.
    dtype : {'float32', 'float64'}, numpy float type or None, default=None
        The network's dtype. None: float64 input is kept in float64, anything else in float32.
    distributed : bool, default=False
        True: the fit runs data-parallel over the processes of ``mpiexec``
        (``chainrule.distributed``, the ``[mpi]`` extra). Every rank calls ``fit`` with the
        same data (X of another shape on some rank is a ValueError on all); the ranks take
        rank 0's random state and weights, draw the same global batches of ``batch_size``
        rows, and each computes the loss and gradients of its shard of every batch (uneven
        shards are fine); one allreduce per batch sums the gradients, so the fit equals the
        single-process one (to rounding: 1e-12 in float64). The validation set of
        ``early_stopping`` is evaluated whole on each rank and rank 0's score decides for all,
        so every rank stops at the same epoch with the same weights; only rank 0 prints
        (``verbose``, ``progress_bar``). Callbacks run on every rank: ``learner_.xb`` is this
        rank's shard, ``learner_.loss`` the whole batch's loss. ``solver='lbfgs'``: each rank
        computes the objective and gradient of its shard of the whole data set, one allreduce
        sums them, and every rank's L-BFGS-B takes the same iterates. Without ``mpiexec`` the
        job is one process and the fit is the ordinary one. Opt-in, never automatic under
        ``mpiexec``: ranks that fit different estimators (a search split by rank) must not
        wait for each other.
""")

SHARED_ATTRIBUTES = textwrap.dedent("""\
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape (n_units[i], n_units[i + 1]): the network's own weight arrays
        (``model_``'s ``Linear.weight``), so ``coefs_[0][:] = ...`` changes the network.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape (n_units[i + 1],), the network's own bias arrays.
    model_ : chainrule.nn.Sequential
        The network, from X to the output layer's pre-activation (the logits).
    n_iter_, t_, loss_, loss_curve_, best_loss_ : as scikit-learn's
        Epochs run by the last call, samples seen, last epoch's loss, loss per epoch, best loss.
        With 'lbfgs' as scikit-learn's too: ``n_iter_`` counts L-BFGS iterations, ``loss_``
        is the final objective, ``t_`` stays 0 and a fresh fit sets no ``loss_curve_``,
        ``best_loss_`` or ``learner_``.
    validation_scores_, best_validation_score_ : as scikit-learn's (with early stopping).
    validation_loss_curve_ : list of float or None
        Loss on the validation set per epoch (with early stopping).
    n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_ : as
        scikit-learn's.
    learner_ : chainrule.train.Loop
        The training loop the ``Learner`` runs on, with this estimator's ``MLPStep`` as its
        ``step``: its state under the Learner's names (``model``, ``optimizer``,
        ``callbacks``, ``epoch``, ``iteration``, ``epoch_log``...) is what the callbacks
        read as their ``learner`` and what ``chainrule.train.diagnose`` takes. ``xb``,
        ``yb``, ``pred``, ``loss`` and the data are let go after each fit. A new loop at
        each fresh fit; ``warm_start`` and ``partial_fit`` continue it.
""")
