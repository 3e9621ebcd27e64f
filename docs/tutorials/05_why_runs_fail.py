"""
Why a training run fails
========================

A loss that will not fall can have many causes: a learning rate too high or too low, gradients
that vanish or explode on their way down a deep network, ReLU units that never switch on,
sigmoid units stuck at 0 or 1, an initialisation that shrinks the signal layer by layer.
``chainrule.train.diagnose`` reads what the telemetry callbacks recorded and names each of these
with its evidence and the usual fix. This tutorial builds runs that fail on purpose, one cause
at a time, and lets it find out which.
"""

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader, make_moons
from chainrule.train import (
    Learner,
    TerminateOnNaNCallback,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainLossCallback,
    diagnose,
)

X, y = make_moons(200, noise=0.1, random_state=0)
X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
dataset = ArrayDataset(X, y.reshape(-1, 1).astype(np.float32))


def network(sizes, activation, he_init=False, gain=1.0, seed=0):
    """Linear layers of the given sizes with ``activation`` between them; He initialisation
    (variance 2/fan_in) when asked, every weight then multiplied by ``gain``."""
    generator = cr.Generator(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(fan_in, fan_out, generator=generator)
        if he_init:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", generator=generator)
            nn.init.zeros_(linear.bias)
        linear.weight.data *= gain
        layers += [linear] if i == len(sizes) - 2 else [linear, activation()]
    return nn.Sequential(*layers)


def train(model, lr, adam=False, epochs=3):
    """Three epochs on the moons with the loss, activation and gradient telemetry; the run goes
    on through NaNs (no ``TerminateOnNaNCallback``) so that the diagnostics see them."""
    opt = (optim.Adam if adam else optim.SGD)(model.parameters(), lr=lr)
    callbacks = [TrainLossCallback(), TrainActivationsCallback(), TrainGradientsCallback()]
    learner = Learner(model, opt, nn.BCEWithLogitsLoss(), callbacks, show_progress=False)
    learner.remove_callback(learner.get_callback(TerminateOnNaNCallback))
    loader = DataLoader(dataset, batch_size=10, shuffle=True, generator=cr.Generator(0))
    with np.errstate(all="ignore"):
        learner.fit(loader, epochs)
    return learner


def report(title, learner, **options):
    findings = diagnose(learner, **options)
    print(f"{title}: {len(findings)} finding(s)")
    for finding in findings:
        print(f"  {finding}")
    return findings


# %%
# A healthy run
# -------------
# Two ReLU layers of 32 units, He initialisation, Adam: nothing to report.

healthy = train(network([2, 32, 32, 1], nn.ReLU, he_init=True), lr=0.01, adam=True)
report("healthy", healthy)

# %%
# The learning rate
# -----------------
# The same network with SGD at a rate of 30 (far too high: the loss jumps and blows up) and at
# 1e-7 (far too low: three epochs change nothing).

too_high = train(network([2, 32, 32, 1], nn.ReLU, he_init=True), lr=30.0)
report("lr = 30", too_high)
too_low = train(network([2, 32, 32, 1], nn.ReLU, he_init=True), lr=1e-7)
report("lr = 1e-7", too_low)
fig_too_high = too_high.get_callback(TrainLossCallback).plot()

# %%
# With the loss of the best constant prediction (the class frequencies' cross-entropy, log 2 for
# two balanced classes) ``diagnose`` can also tell a run that learnt nothing at all.

report("lr = 1e-7, against the baseline", too_low, baseline_loss=float(np.log(2)))

# %%
# Gradients on their way down
# ---------------------------
# Seven sigmoid layers with the default initialisation: each layer multiplies the gradient by
# at most σ' ≤ ¼, and the first layers barely learn. Six ReLU layers with weights six times
# too large: the forward signal and the gradients grow at every layer.

report("7 sigmoid layers", train(network([2] + [32] * 7 + [1], nn.Sigmoid), lr=0.1))
report(
    "6 ReLU layers, weights ×6",
    train(network([2] + [32] * 6 + [1], nn.ReLU, he_init=True, gain=6.0), lr=1e-9),
)

# %%
# Units that do not work
# ----------------------
# Biases of −10 in the first ReLU layer switch every one of its units off for every input: no
# gradient flows through them, so they never come back. Sigmoid units with weights a hundred
# times too large sit at 0 or 1, where their slope is almost 0.

dead = network([2, 32, 32, 1], nn.ReLU, he_init=True)
dead[0].bias.data[:] = -10.0
report("ReLU biases at −10", train(dead, lr=0.05))
report("sigmoid weights ×100", train(network([2, 32, 1], nn.Sigmoid, gain=100.0), lr=0.01))

# %%
# The initialisation and depth
# ----------------------------
# Five ReLU layers with the default initialisation (variance 1/(3·fan_in), PyTorch's) shrink the
# activations layer by layer; ``examples/07_initialisation.py`` shows why 2/fan_in keeps them.

report("5 ReLU layers, default init", train(network([2] + [64] * 5 + [1], nn.ReLU), lr=0.05))
