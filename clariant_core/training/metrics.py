"""Classification metrics on a split: accuracy, AUC, background rejection 1/ε_B at fixed signal efficiency."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from clariant_core.training.regression import model_inputs


def classification_metrics(scores: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy (threshold 0.5 on the signal probability), AUC, 1/ε_B at ε_S = 0.3 and 0.5."""
    from sklearn.metrics import roc_auc_score, roc_curve

    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        raise ValueError("metrics need both classes in the evaluation set")
    fpr, tpr, _ = roc_curve(labels, scores)
    out = {"accuracy": float(((scores > 0.5) == labels).mean()), "auc": float(roc_auc_score(labels, scores))}
    for eff in (0.3, 0.5):
        eps_b = float(np.interp(eff, tpr, fpr))
        out[f"rejection_at_{eff}"] = float(1 / eps_b) if eps_b > 0 else float("inf")
    return out


@torch.no_grad()
def predict(model: nn.Module, batches, device=None, particle=()) -> tuple[np.ndarray, np.ndarray, float]:
    """Signal probabilities, labels and mean cross-entropy over an iterable of Batches (moved to `device` if given);
    `particle`: the particle-information fields the model takes as scalars."""

    model.eval()
    scores, labels, loss, n = [], [], 0.0, 0
    for b in batches:
        if device is not None:
            b = b.to(device)
        logits = model(*model_inputs(b, particle))
        loss += float(nn.functional.cross_entropy(logits, b.label, reduction="sum"))
        n += len(b.label)
        scores.append(torch.softmax(logits.double(), -1)[:, 1].cpu().numpy())
        labels.append(b.label.cpu().numpy())
    if not scores:
        raise ValueError("no jets to evaluate")
    return np.concatenate(scores), np.concatenate(labels), loss / max(n, 1)
