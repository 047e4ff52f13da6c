"""Run folders: where a run goes, and the checks made before any data is read — never replace a run unasked,
never resume what cannot be resumed, every split readable with both classes."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist

from clariant_core.atomic import check_writable_folder
from clariant_core.data.readers import DataFormatError
from clariant_core.training.config import TrainConfig

RUN_FILES = ("best.pt", "last.pt", "metrics.json")
# settings that may differ between a run and its resumption (they do not change what is computed)
_RESUMABLE_CHANGES = {"out", "progress", "threads", "resume", "overwrite", "stop_after"}


def default_run_dir(model: str, root: str | Path = "runs") -> Path:
    """A run folder that does not exist yet: `root/<model>-<UTC yyyymmdd-HHMMSS>` (with -2, -3… if taken)."""
    base = Path(root) / f"{model}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def resolve_out(cfg: TrainConfig, rank: int, world: int) -> Path:
    if cfg.out is not None:
        return Path(cfg.out)
    name = [str(default_run_dir(cfg.model))] if rank == 0 else [None]
    if world > 1:
        dist.broadcast_object_list(name, src=0)
    return Path(name[0])


def describe_run(out: Path) -> str:
    try:
        meta = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
        return f"best.pt from epoch {meta.get('epoch')}"
    except Exception:  # noqa: BLE001 — only a description
        return ", ".join(f for f in RUN_FILES if (out / f).exists())


def check_out(cfg: TrainConfig, out: Path) -> None:
    """Before any data is read: the folder can be written, and an existing run is neither replaced unasked nor
    resumed when there is nothing to resume."""
    check_writable_folder(out)
    existing = [f for f in RUN_FILES if (out / f).exists()]
    if cfg.resume:
        if not (out / "last.pt").exists():
            raise FileNotFoundError(
                f"--resume: {out} holds no last.pt to resume from (no epoch finished there): start the run without "
                "--resume"
            )
    elif existing and not cfg.overwrite:
        raise FileExistsError(
            f"{out} already holds a run ({describe_run(out)}); pass --overwrite to replace it, --resume to "
            "continue it, or choose another --out"
        )


def check_splits(cfg: TrainConfig, files: dict) -> None:
    """Read every split once (values validated, labels counted) before a model is built: for classification each
    split must hold jets of both classes, which training, early stopping and the test metrics all need; for a
    regression task, the truth four-momentum and top jets."""
    for name, f in files.items():
        stop = cfg.max_train_jets if name == "train" else None
        n0, n1 = f.label_counts(stop=stop, chunk_size=cfg.chunk_size)
        if n0 + n1 == 0:
            raise DataFormatError(f"{f.path}: the {name} split holds no jets")
        if cfg.task != "classify":
            if not f.has_truth or n1 == 0:
                what = "no truth four-momentum (truthE… or truth_Pmu)" if not f.has_truth else "no top jets"
                raise DataFormatError(f"{f.path}: the {name} split has {what}; --task {cfg.task} regresses on them")
            continue
        if n0 == 0 or n1 == 0:
            raise DataFormatError(
                f"{f.path}: the {name} split holds {n0} QCD and {n1} top jets; training, validation and the test "
                "metrics need both classes"
            )


def load_resume(cfg: TrainConfig, out: Path) -> dict:
    ckpt = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
    state = ckpt.get("resume") if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{out / 'last.pt'} holds no resumable state")
    if state.get("finished"):
        raise ValueError(f"the run in {out} already finished (epoch {ckpt.get('epoch')}); nothing to resume")
    old, new = ckpt.get("train_config", {}), asdict(cfg)
    for k in sorted(set(old) | set(new)):
        if k not in _RESUMABLE_CHANGES and old.get(k) != new.get(k):
            raise ValueError(f"--resume: {k} is {new.get(k)!r} but the run in {out} was started with {old.get(k)!r}")
    return {"epoch": ckpt["epoch"], "state_dict": ckpt["state_dict"], **state}
