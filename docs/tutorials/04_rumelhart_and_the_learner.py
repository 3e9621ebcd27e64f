"""
Rumelhart 1986, then the Learner
================================

The seed notebook on Rumelhart, Hinton and Williams, "Learning representations by
back-propagating errors" (Nature 323, 1986). The paper trains networks of logistic units on the
error E = ½ Σ_cases Σ_outputs (y − d)² with the *generalised delta rule*, one weight change per
sweep through the cases, with momentum:

.. math::

   \\Delta w(t) = -\\varepsilon \\, \\frac{\\partial E}{\\partial w} + \\alpha \\, \\Delta w(t - 1).

First the rule written out in NumPy on XOR and checked against ``optim.SGD``; then the paper's
network as a scikit-learn estimator on XOR and on mirror symmetry; then the same kind of network
trained the modern way, with a ``Learner``, telemetry, the learning-rate finder and a one-cycle
schedule.
"""

import numpy as np
from _examples import load

import chainrule as cr
from chainrule import nn, optim, plot

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_D = np.array([[0.0], [1.0], [1.0], [0.0]])
EPS, ALPHA, SWEEPS = 0.5, 0.9, 600


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# %%
# The delta rule with momentum, by hand
# -------------------------------------
# A 2-2-1 network of logistic units, weights from U(−0.3, 0.3). The backward pass: the output
# unit's delta is (y − d)·y(1 − y); a hidden unit's is its share of the output deltas times its
# own slope h(1 − h). Every weight change is −ε times its gradient plus α times its last change.

rng = np.random.default_rng(1)
start = {
    "W1": rng.uniform(-0.3, 0.3, (2, 2)),
    "b1": rng.uniform(-0.3, 0.3, 2),
    "W2": rng.uniform(-0.3, 0.3, (2, 1)),
    "b2": rng.uniform(-0.3, 0.3, 1),
}
w = {k: v.copy() for k, v in start.items()}
change = {k: np.zeros_like(v) for k, v in w.items()}
errors = []
for _ in range(SWEEPS):
    h = sigmoid(XOR_X @ w["W1"] + w["b1"])
    y = sigmoid(h @ w["W2"] + w["b2"])
    errors.append(0.5 * np.sum((y - XOR_D) ** 2))
    delta_out = (y - XOR_D) * y * (1 - y)
    delta_hidden = (delta_out @ w["W2"].T) * h * (1 - h)
    grads = {
        "W2": h.T @ delta_out,
        "b2": delta_out.sum(axis=0),
        "W1": XOR_X.T @ delta_hidden,
        "b1": delta_hidden.sum(axis=0),
    }
    for k in w:
        change[k] = -EPS * grads[k] + ALPHA * change[k]
        w[k] += change[k]
print(f"E after 1, 300 and {SWEEPS} sweeps: {errors[0]:.4f}, {errors[299]:.4f}, {errors[-1]:.4f}")
print("outputs for (0,0) (0,1) (1,0) (1,1):", y.ravel().round(3))

# %%
# The rule is ``optim.SGD(lr=ε, momentum=α)``: PyTorch's momentum keeps v(t) = α v(t − 1) + g and
# steps by −ε v(t), and −ε v(t) = −ε g + α (−ε v(t − 1)) is Rumelhart's Δw(t). The same network
# on the engine, from the same weights, one step per sweep, ends on the same weights:

params = {k: cr.tensor(v, requires_grad=True) for k, v in start.items()}
sgd = optim.SGD(params.values(), lr=EPS, momentum=ALPHA)
for _ in range(SWEEPS):
    hidden = cr.sigmoid(cr.tensor(XOR_X) @ params["W1"] + params["b1"])
    out = cr.sigmoid(hidden @ params["W2"] + params["b2"])
    E = 0.5 * ((out - XOR_D) ** 2).sum()
    sgd.zero_grad()
    E.backward()
    sgd.step()
difference = max(np.max(np.abs(params[k].data - w[k])) for k in w)
print(f"largest |weight by hand − weight by optim.SGD| after {SWEEPS} sweeps: {difference:.1e}")

# %%
# The paper's network as an estimator
# -----------------------------------
# ``chainrule.estimators.Rumelhart1986PerceptronClassifier`` is that loop with scikit-learn's
# contract; ``errors_`` holds E per sweep. ``examples/09_rumelhart.py`` runs it on XOR from
# several random starts (some settle on the plateau E = 0.5, every output ½) and on the paper's
# first task, detecting mirror symmetry in 6-bit strings, where a solved network puts weights of
# equal size and opposite sign on mirror positions.

example = load("09_rumelhart")
xor_runs = example.xor(range(3), 1000)
symmetry = example.symmetry(range(2), 1425)

fig_errors, axes = plot.new_figure(2, panel_size=(5.0, 3.2))
for ax, results, title in ((axes[0], xor_runs, "XOR"), (axes[1], symmetry["runs"], "symmetry")):
    for r in results:
        ax.semilogy(r["errors"], label=f"seed {r['seed']}, accuracy {r['accuracy']:.2f}")
    ax.set(title=f"{title}: errors_ per sweep", xlabel="sweep", ylabel="E")
    ax.legend(fontsize=7)

# %%
# The modern flow: a Learner with telemetry
# -----------------------------------------
# The same ingredients (a small sigmoid network, SGD with momentum) on two Gaussian blobs, with
# the tools of the Learner seed: four telemetry callbacks that keep bounded summaries of the
# loss, the activations, the gradients and the parameters at every iteration.

from chainrule.train import (  # noqa: E402
    EveryBatchSchedulerCallback,
    Learner,
    LRFinderCallback,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainLossCallback,
    TrainParametersCallback,
)

learner_example = load("03_learner")
sets = learner_example.split_blobs(400, 0)
dl_train = learner_example.loader(*sets["train"], shuffle=True, seed=0)
dl_valid = learner_example.loader(*sets["valid"], shuffle=False, seed=0)

cr.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 10), nn.Sigmoid(), nn.Linear(10, 1))
opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
telemetry = [
    TrainLossCallback(),
    TrainActivationsCallback(),
    TrainGradientsCallback(),
    TrainParametersCallback(),
]
learner = Learner(
    model,
    opt,
    nn.BCEWithLogitsLoss(),
    callbacks=telemetry,
    metrics=["accuracy"],
    show_progress=False,
)

# %%
# The learning-rate finder
# ------------------------
# A short run whose rate grows exponentially from 1e-5 to 100, one step per batch, stopped when
# the loss blows up. The weights are put back afterwards. The *valley* suggestion (fastai's) is
# a rate where the smoothed loss falls fastest before its minimum.

finder = learner.find_learning_rate(dl_train, lr_find_callback=LRFinderCallback(1e-5, 100, 60))
suggestion = finder.suggestion()
print(f"steep {suggestion.steep:.3g}, valley {suggestion.valley:.3g}")
fig_finder = finder.plot()

# %%
# One cycle
# ---------
# ``OneCycleLR`` warms the rate up to a peak and anneals it down, stepped after every batch by
# ``EveryBatchSchedulerCallback``; the finder's valley is the peak.

max_lr = float(min(10.0, suggestion.valley))
schedule = optim.lr_scheduler.OneCycleLR(
    opt, max_lr=max_lr, epochs=4, steps_per_epoch=len(dl_train)
)
learner.add_callback(EveryBatchSchedulerCallback(schedule))
learner.fit(dl_train, 4, dataloader_valid=dl_valid)
print({k: round(v, 4) for k, v in learner.epoch_log.items() if isinstance(v, float)})

# %%
# What the telemetry saw: the loss per iteration, then the activations, gradients and
# parameters of every layer summarised over time (means, spreads and percentiles).

fig_loss = telemetry[0].plot()
fig_activations = telemetry[1].plot()
fig_gradients = telemetry[2].plot()
fig_parameters = telemetry[3].plot()
X_all = np.concatenate([sets[k][0] for k in ("train", "valid", "test")])
y_all = np.concatenate([sets[k][1] for k in ("train", "valid", "test")])
fig_boundary = plot.decision_boundary(model, X_all, y_all, resolution=80)
