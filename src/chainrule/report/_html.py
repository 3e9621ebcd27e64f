"""The report: one self-contained HTML file (figures as SVG or PNG data URIs, the graph as inline
SVG, the style in the page; nothing fetched from anywhere). Every text is escaped."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from chainrule import __version__

from ._record import RunRecord
from ._style import CSS

SEVERITY = {"error": "bad", "warning": "warn", "info": "info"}
METRIC_LABELS = {
    "accuracy": "accuracy",
    "f1_macro": "F1 (macro)",
    "r2": "R²",
    "rmse": "RMSE",
    "mae": "MAE",
}


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def table(header: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def pairs(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f'<table class="pairs"><tbody>{body}</tbody></table>'


def figure(figures: dict[str, Any], name: str, caption: str) -> str:
    value = figures.get(name)
    if value is None:
        return ""
    if isinstance(value, Exception):
        return f'<p class="missing">{e(caption)}: not available ({e(value)})</p>'
    return (
        f'<figure><img src="{value}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption>'
        f"</figure>"
    )


def section(anchor: str, title: str, body: str, intro: str = "") -> str:
    lead = f'<p class="intro">{e(intro)}</p>' if intro else ""
    return f'<section id="{e(anchor)}"><h2>{e(title)}</h2>{lead}{body}</section>'


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, float) and value != value:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.4g}"
    return str(value)


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def comparison(run: RunRecord) -> str:
    """chainrule against scikit-learn and the baseline (a constant prediction) on the test
    set: metrics and wall time."""
    ours, theirs, base = run.results["test"], run.results["sklearn"], run.results["baseline"]
    rows = [
        [label, _number(ours[key]), _number(theirs[key]), _number(base[key])]
        for key, label in METRIC_LABELS.items()
        if key in ours
    ]
    rows.append(
        ["fit wall time", f"{run.fit_seconds:.2f} s", f"{theirs['fit_seconds']:.2f} s", "—"]
    )
    n = run.split["test"]
    notes = [
        f"Both trained on the same {run.split['train']} scaled training rows for "
        f"{run.epochs} epochs with the same layers, batch size and rate; tested on "
        f"the same {n} rows. chainrule's time includes its validation pass and telemetry.",
        f"The baseline always predicts {base['name']}: a model that does not clearly beat it "
        f"has learnt nothing usable.",
        *theirs["notes"],
    ]
    header = ["test set", "chainrule", "scikit-learn", "baseline"]
    return table(header, rows, "compare") + "".join(
        f'<p class="note">{e(note)}</p>' for note in notes
    )


def preprocessing(run: RunRecord) -> list[tuple[str, Any]]:
    """The task decision and each column's treatment, columns treated alike grouped."""
    groups: dict[str, list[str]] = {}
    for name, how in run.columns:
        groups.setdefault(how, []).append(name)
    for name, why in run.dropped:
        groups.setdefault(f"dropped ({why})", []).append(name)
    rows: list[tuple[str, Any]] = [("reading", note) for note in run.reading_notes]
    for how, names in groups.items():
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        rows.append(("columns", f"{shown}: {how}"))
    if run.task == "regression":
        rows.append(("target scaling", "standardised for training; reported in its own units"))
    return rows


def settings(run: RunRecord) -> str:
    classes = ", ".join(map(str, run.classes[:12])) + (" ..." if len(run.classes) > 12 else "")
    n_params = sum(p.size for p in run.learner.model.parameters())
    rows: list[tuple[str, Any]] = [
        ("data", run.data),
        (
            "task",
            f"{run.task}" + (f" ({len(run.classes)} classes: {classes})" if classes else ""),
        ),
        ("target", run.target),
        (
            "features",
            f"{len(run.features)} columns ({', '.join(run.features[:6])}"
            f"{' ...' * (len(run.features) > 6)}) → {run.n_inputs} network inputs",
        ),
        (
            "split (seeded)",
            f"{run.split['train']} train / {run.split['valid']} validation / "
            f"{run.split['test']} test",
        ),
        *preprocessing(run),
        ("model", f"{run.architecture}, {n_params:,} parameters"),
        ("loss", run.loss),
        ("optimizer", run.optimizer),
        (
            "learning rate",
            f"{run.lr:.3g}" + (" (from the LR finder)" if run.lr_from_finder else ""),
        ),
        (
            "schedule",
            f"{run.schedule}, stepped after every batch"
            if run.schedule != "constant"
            else "constant",
        ),
        ("epochs", run.epochs),
        ("regularisation", _regularisation(run)),
        ("early stopping", _stopping(run)),
        ("batch size", run.batch_size),
        ("seed", run.seed),
        ("telemetry", f"recorded every {run.telemetry['activations'].every_n} iteration(s)"),
    ]
    if run.resumed_at is not None:
        rows.append(("resumed", f"from {run.resumed_from} after epoch {run.resumed_at}"))
    if run.data_parallel is not None:
        rows.append(("data parallel", run.data_parallel))
    rows.append(("command", " ".join(["chainrule", *run.command])))
    return pairs(rows)


def _regularisation(run: RunRecord) -> str:
    decay = run.learner.optimizer.param_groups[0].get("weight_decay", 0.0)
    kind = "decoupled" if run.optimizer == "adamw" else "L2"
    parts = [f"weight decay {decay:g} ({kind})" if decay else "no weight decay"]
    parts.append(
        f"dropout {run.dropout:g} after each hidden layer" if run.dropout else "no dropout"
    )
    return ", ".join(parts)


def _stopping(run: RunRecord) -> str:
    if run.patience is None:
        return "none (--patience N stops when the validation loss stalls)"
    text = f"patience {run.patience} epochs on the validation loss"
    if run.best_epoch is None:
        return text + "; it did not trigger"
    return (
        f"{text}; stopped after epoch {run.learner.epoch}, weights of epoch "
        f"{run.best_epoch + 1} (the best) restored"
    )


def epochs_table(run: RunRecord) -> str:
    loss = run.losses.history["epochs"]
    metric = run.metric_history[run.metric]
    rows = [
        [
            int(ep) + 1,
            _number(float(t)),
            _number(float(v)),
            _number(float(m)),
            "best, restored" if run.best_epoch == int(ep) else "",
        ]
        for ep, t, v, m in zip(loss["epoch"], loss["train_loss"], loss["valid_loss"], metric)
    ]
    label = METRIC_LABELS[run.metric]
    header = ["epoch", "train loss", "valid loss", f"valid {label}", "early stopping"]
    return table(header, rows, "epochs")


def findings(run: RunRecord) -> str:
    found = run.results["findings"]
    if not found:
        return (
            '<p class="ok">No problems found by the checks of the loss curves (learning rate, '
            "progress, overfitting), the test metric against the baseline, the classes "
            "against the rows, the gradients, dead or saturated units and the activation "
            "scale with depth.</p>"
        )
    items = "".join(
        f'<li class="finding {SEVERITY.get(f.severity, "info")}"><span class="badge">'
        f"{e(f.severity)}</span> <strong>{e(f.name.replace('_', ' '))}</strong>"
        f'<p><span class="label">evidence</span> {e(f.evidence)}</p>'
        f'<p><span class="label">advice</span> {e(f.advice)}</p></li>'
        for f in found
    )
    return f'<ul class="findings">{items}</ul>'


def banner(run: RunRecord) -> str:
    """One line above the results: the findings by name, worst first, or that none holds."""
    found = run.results["findings"]
    if not found:
        return '<p class="banner ok">No problems found (see Diagnostics for what was checked).</p>'
    rank = {"error": 0, "warning": 1, "info": 2}
    worst = min(found, key=lambda f: rank.get(f.severity, 3)).severity
    names = ", ".join(
        f.name.replace("_", " ") for f in sorted(found, key=lambda f: rank.get(f.severity, 3))
    )
    n = len(found)
    return (
        f'<p class="banner {SEVERITY.get(worst, "info")}">{n} finding{"s" * (n > 1)}: '
        f'{e(names)}. <a href="#diagnostics">See Diagnostics</a>.</p>'
    )


def headline(run: RunRecord) -> str:
    ours, theirs = run.results["test"], run.results["sklearn"]
    key = run.metric
    label = f"test {METRIC_LABELS[key]}"
    found = run.results["findings"]
    n = len(found)
    errors = sum(f.severity == "error" for f in found)
    epochs = f"{run.learner.iteration} iterations"
    if run.best_epoch is not None:
        epochs = f"weights of epoch {run.best_epoch + 1} kept (the best)"
    cards = [
        (label, _number(ours[key]), f"scikit-learn {_number(theirs[key])}"),
        ("fit time", _seconds(run.fit_seconds), f"scikit-learn {_seconds(theirs['fit_seconds'])}"),
        ("epochs", str(run.learner.epoch), epochs),
        (
            "diagnostics",
            "no problems" if not n else f"{n} finding{'s' * (n > 1)}",
            f"{errors} error{'s' * (errors != 1)}; see below" if n else "see below",
        ),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{e(k)}</div><div class="v">{e(v)}</div>'
            f'<div class="s">{e(s)}</div></div>'
            for k, v, s in cards
        )
        + "</div>"
    )


def _sections(run: RunRecord, figures: dict[str, Any], svg: str, files: dict[str, str]) -> list:
    """``(anchor, title, body, intro)`` of every section, in page order."""
    is_class = run.task == "classification"
    caption = "training loss per batch (raw and smoothed) and validation loss per epoch"
    if not is_class:
        caption += ", of the standardised target (y − mean) / deviation, as the model learns it"
    if run.best_epoch is not None:
        caption += " (the star: the best epoch, whose weights were kept)"
    curves = figure(
        figures,
        "curves",
        caption + "; the validation metric per epoch; the learning rate of every batch",
    )
    curves += f"<details><summary>per-epoch values</summary>{epochs_table(run)}</details>"
    if is_class:
        outcome = figure(figures, "confusion", "confusion matrix")
        outcome += figure(figures, "boundary", "decision boundary")
    else:
        outcome = figure(figures, "scatter", "predicted against true values")
    telemetry = "".join(
        figure(figures, name, caption)
        for name, caption in (
            ("activations", "activations (module outputs): statistics and histograms over time"),
            ("gradients", "parameter gradients dL/dθ: statistics and log10|g| histograms"),
            ("parameters", "parameters θ: statistics and histograms over time"),
        )
    )
    sections = [
        ("results", "Results on the test set", banner(run) + headline(run) + comparison(run), ""),
        ("settings", "Run settings", settings(run), ""),
        ("curves", "Training curves", curves, ""),
    ]
    if "lr_finder" in figures:
        finder = figure(figures, "lr_finder", "smoothed loss against the learning rate")
        intro = (
            "An exponential ramp of the rate over a short run, undone afterwards; the valley "
            "suggestion sets the peak of the schedule unless --lr was given."
        )
        sections.append(("lr-finder", "Learning-rate finder", finder, intro))
    intro = "What the telemetry says about the training, in words (chainrule.train.diagnose)."
    sections.append(("diagnostics", "Diagnostics", findings(run), intro))
    sections.append(("predictions", "Predictions", f'<div class="gallery">{outcome}</div>', ""))
    intro = (
        "Summaries recorded during training: one line per layer, and each layer's histogram "
        "over the iterations (colour: the share of that iteration's values in each bin; "
        "iterations on the short last batch of an epoch are not recorded)."
    )
    sections.append(("telemetry", "Telemetry", telemetry, intro))
    intro = (
        "One forward pass of the trained network and its loss on four training rows, with "
        "each parameter's gradient from the backward pass."
    )
    sections.append(("graph", "Computational graph", f'<div class="graph">{svg}</div>', intro))
    sections.append(("files", "Files", pairs(list(files.items())), ""))
    return sections


def render(run: RunRecord, figures: dict[str, Any], svg: str, files: dict[str, str]) -> str:
    """The whole page: figures are data URIs, ``svg`` is inlined, every text is escaped."""
    sections = _sections(run, figures, svg, files)
    body = "".join(section(*s) for s in sections)
    nav = "".join(f'<a href="#{e(a)}">{e(a.replace("-", " "))}</a>' for a, *_ in sections)
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    title = f"chainrule train: {run.data}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f'<header><div class="wrap"><h1>{e(title)}</h1><p class="sub">{e(run.architecture)}'
        f" · {e(run.task)} · {e(stamp)} · chainrule {e(__version__)}</p>"
        f"<nav>{nav}</nav></div></header>"
        f'<main class="wrap">{body}</main>'
        f'<footer class="wrap">Written by <code>chainrule train</code>. Self-contained: '
        f"figures are embedded, nothing is loaded from the network.</footer></body></html>\n"
    )
