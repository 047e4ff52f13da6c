"""Checkpoints: written atomically, read with `weights_only=True` and checked against the architecture their
config describes before any weight is loaded."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from clariant_core.atomic import atomic_file
from clariant_core.training.config import DTYPES, MODELS
from clariant_core.training.models import make_model


def save_checkpoint(path, model: nn.Module, kind: str, extra: dict | None = None) -> Path:
    """Atomic: written to a temporary file in the same folder, then renamed over the target. Every tensor is written
    from the CPU, wherever the model trains: a checkpoint written on a GPU loads with a plain `torch.load` on a
    machine without one (resuming moves the optimiser's state back to the parameters' device)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    payload = {
        "format": "clariant-checkpoint-1",
        "kind": kind,
        "config": config,
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "state_dict": model.state_dict(),
        **(extra or {}),
    }
    with atomic_file(path) as tmp:
        torch.save(_on_cpu(payload), tmp)
    return path


def _on_cpu(obj):
    """`obj` with every tensor in its dicts, lists and tuples detached and on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _on_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_on_cpu(v) for v in obj)
    return obj


def _why_unreadable(e: Exception) -> str:
    """What torch.load's failure means, in one line — without torch's advice to retry with weights_only=False,
    which would run whatever code the file holds."""
    text = str(e)
    if "GLOBAL" in text:  # the weights-only unpickler met a reference to Python code
        found = re.search(r"GLOBAL ([\w.]+)", text)
        what = f" ({found.group(1)})" if found else ""
        return (
            f"it refers to Python objects{what} beyond tensors and plain data, which are refused (loading them "
            "could run code); a CLARIANT checkpoint holds only tensors, numbers and strings"
        )
    _, marker, after = text.partition("WeightsUnpickler error:")
    reason = next((line.strip() for line in after.splitlines() if line.strip()), "") if marker else ""
    if reason or isinstance(e, (OSError, RuntimeError, EOFError, pickle.UnpicklingError)):
        first = reason or (text.splitlines()[0] if text else type(e).__name__)
        return f"truncated, corrupt or not a torch checkpoint ({type(e).__name__}: {first[:160]})"
    return f"{type(e).__name__}: {text.splitlines()[0][:160] if text else ''}"


def load_checkpoint(path, dtype: torch.dtype | None = None) -> tuple[nn.Module, dict]:
    """(model in eval mode, the checkpoint's metadata). Loaded with weights_only=True: no code is unpickled."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.is_dir():
        inside = [f for f in ("best.pt", "last.pt") if (path / f).is_file()]
        hint = f": give {path / inside[0]}" if inside else ": give the checkpoint file (a run folder holds best.pt)"
        raise IsADirectoryError(f"checkpoint {path} is a folder, not a checkpoint file{hint}")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols: its unpickler's business, not the user's
            warnings.simplefilter("ignore", UserWarning)
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 — any unpickling failure means a corrupt or foreign file
        raise ValueError(f"{path} is not a readable CLARIANT checkpoint: {_why_unreadable(e)}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != "clariant-checkpoint-1":
        raise ValueError(f"{path} is not a CLARIANT checkpoint (missing format tag)")
    missing = [k for k in ("kind", "config", "dtype", "state_dict") if k not in ckpt]
    if missing:
        raise ValueError(f"{path}: checkpoint lacks {missing}")
    if ckpt["kind"] not in MODELS:
        raise ValueError(f"{path}: unknown model kind {ckpt['kind']!r}; expected one of {MODELS}")
    if ckpt["dtype"] not in DTYPES:
        raise ValueError(f"{path}: checkpoint dtype {ckpt['dtype']!r} is not one of {sorted(DTYPES)}")
    try:
        model = make_model(ckpt["kind"], ckpt["config"], dtype=DTYPES[ckpt["dtype"]])
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    model.to(DTYPES[ckpt["dtype"]])
    _check_state_dict(path, model, ckpt["state_dict"])
    model.load_state_dict(ckpt["state_dict"])
    if dtype is not None:
        model.to(dtype)
    meta = {k: v for k, v in ckpt.items() if k not in ("state_dict", "resume")}
    return model.eval(), meta


def _check_state_dict(path, model: nn.Module, sd) -> None:
    """The weights must be exactly those of the config's architecture: same names, shapes, kinds; all finite."""
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: state_dict is a {type(sd).__name__}, not a dict of tensors")
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(sd)), sorted(set(sd) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path}: the weights are not those of the {type(model).__name__} its config describes "
            f"(missing {missing[:3]}{'…' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'…' if len(unexpected) > 3 else ''})"
        )
    for k, ref in expected.items():
        t = sd[k]
        if (
            not isinstance(t, torch.Tensor)
            or t.shape != ref.shape
            or (t.is_floating_point(), t.is_complex()) != (ref.is_floating_point(), ref.is_complex())
        ):
            got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{path}: weight {k} is {got}, expected {ref.dtype} {tuple(ref.shape)}")
        if (t.is_floating_point() or t.is_complex()) and not torch.isfinite(t).all():
            raise ValueError(f"{path}: weight {k} contains NaN or inf")
