"""Training: `clariant train` and its Python API, `train(TrainConfig(...))`.

AdamW, linear warm-up then cosine decay, early stopping on validation loss, tqdm progress, atomic checkpoints, seeded;
the best checkpoint is evaluated on the test split (metrics written as JSON). Tasks: classify (cross-entropy), mass and
momentum (regression.py; top jets only, with the naive Σ-constituents baseline measured on the same test jets).
Multi-process data-parallel training with torch.distributed when launched by `torchrun` (gloo on CPU, NCCL with one
GPU per process). docs/training.md.

`train` reads as its steps: every check before any work (`_prepare`), the optimiser and schedule (`_optimiser`), one
epoch (`_train_epoch`), the end-of-epoch bookkeeping (`_end_epoch`: validation, best and last checkpoints, early
stopping) and the final test (`_finish`).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from clariant_core.atomic import write_text
from clariant_core.data.readers import DataFormatError, JetFile
from clariant_core.devices import resolve_device
from clariant_core.network.heads import Task
from clariant_core.network.lgn import count_parameters
from clariant_core.training.batches import BucketedBatches
from clariant_core.training.checkpoint import load_checkpoint, save_checkpoint
from clariant_core.training.config import DTYPES, TrainConfig
from clariant_core.training.metrics import classification_metrics, predict
from clariant_core.training.models import make_model
from clariant_core.training.regression import (
    model_inputs,
    predict_regression,
    regression_jets,
    regression_metrics,
    task_loss,
)
from clariant_core.training.runs import RUN_FILES, check_out, check_splits, load_resume, resolve_out

_VAL_BATCH = 256
_CLIP_NORM = 5.0  # gradient-norm clip: keeps the first, un-warmed steps of a product network bounded


@dataclass
class _Run:
    """Everything one invocation works with, made by `_prepare` once all checks passed."""

    cfg: TrainConfig
    out: Path
    rank: int
    world: int
    device: torch.device
    model: nn.Module
    ddp: nn.Module
    files: dict
    train_data: BucketedBatches
    val_data: BucketedBatches
    resume: dict | None
    history: list = field(default_factory=list)
    best: tuple = (float("inf"), -1)  # (validation loss, epoch)


def _distributed(device: str) -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device). Under torchrun with CUDA, process r uses GPU LOCAL_RANK (NCCL)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = resolve_device(device)
    if world > 1:
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        return dist.get_rank(), dist.get_world_size(), dev
    return 0, 1, dev


def _prepare(cfg: TrainConfig) -> _Run:
    """Every check before any training: output folder, model size against memory, all three splits read and
    validated, resumable state; then the data iterators and the (possibly data-parallel) model on its device."""
    rank, world, device = _distributed(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = resolve_out(cfg, rank, world)
    check_out(cfg, out)
    torch.manual_seed(cfg.seed)
    dtype = DTYPES[cfg.dtype]
    model = make_model(cfg.model, cfg.model_settings(), dtype=dtype).to(dtype)
    files = {name: JetFile(cfg.split(name)) for name in ("train", "val", "test")}
    for f in files.values():
        lacking = [k for k in cfg.particle if k not in f.particle_fields]
        if lacking:
            raise DataFormatError(f"{f.path}: no particle field(s) {lacking} for --particle (docs/data.md)")
    check_splits(cfg, files)
    resume = load_resume(cfg, out) if cfg.resume else None
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if cfg.overwrite:
            for f in RUN_FILES:
                (out / f).unlink(missing_ok=True)
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
    model.to(device)
    ids = [device.index] if device.type == "cuda" and world > 1 else None
    # static graph: every step uses the same parameters, and a model may leave some out of its loss for good (the
    # four-vector LGN's last level computes irreps its head never reads); DDP then reduces the others only
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=ids, static_graph=True) if world > 1 else model
    common = dict(dtype=dtype, max_particles=cfg.max_particles, chunk_size=cfg.chunk_size)
    train_data = BucketedBatches(
        files["train"], cfg.batch_size, stop=cfg.max_train_jets, rank=rank, world=world, **common
    )
    val_data = BucketedBatches(files["val"], _VAL_BATCH, **common)
    return _Run(cfg, out, rank, world, device, model, ddp, files, train_data, val_data, resume)


def _optimiser(run: _Run):
    """AdamW with a linear warm-up over `warmup_fraction` of all steps, then cosine decay to zero."""
    cfg = run.cfg
    total = max(run.train_data.num_batches(), 1) * cfg.epochs
    warm = max(int(cfg.warmup_fraction * total), 1)

    def factor(step: int) -> float:
        decay = min(max(step - warm, 0) / max(total - warm, 1), 1)
        return min((step + 1) / warm, 0.5 * (1 + math.cos(math.pi * decay)))

    opt = torch.optim.AdamW(run.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    if run.resume is not None:
        opt.load_state_dict(run.resume["optimizer"])
        sched.load_state_dict(run.resume["scheduler"])
        torch.set_rng_state(run.resume["torch_rng"])
        run.best, run.history = (run.resume["best_loss"], run.resume["best_epoch"]), list(run.resume["history"])
    return opt, sched


def _train_epoch(run: _Run, epoch: int, opt, sched) -> float:
    """One pass over the training split; returns the mean training loss."""
    from tqdm import tqdm

    cfg = run.cfg
    run.model.train()
    bar = tqdm(
        run.train_data.epoch(cfg.seed * 1000 + epoch),
        total=max(run.train_data.num_batches(), 1),
        unit="batch",
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        disable=not cfg.progress or run.rank != 0,
    )
    total = n = 0
    task = Task(cfg.task)
    for b in bar:
        if task.is_regression and not _all_have_jets(run, b := regression_jets(b)):
            continue
        b = b.to(run.device)
        loss = task_loss(task, run.ddp(*model_inputs(b, cfg.particle)), b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(run.model.parameters(), _CLIP_NORM)
        opt.step()
        sched.step()
        total += loss.item() * len(b.label)
        n += len(b.label)
        bar.set_postfix(loss=f"{total / max(n, 1):.4f}")
    return total / max(n, 1)


def _all_have_jets(run: _Run, batch) -> bool:
    """Whether this step trains: this process's regression batch has jets — and, under torchrun, every process's
    (a process that skipped a step the others take would leave their gradient reduction waiting for it)."""
    have = batch is not None
    if run.world > 1:
        flag = torch.tensor([float(have)], device=run.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        have = bool(flag.item())
    return have


def _end_epoch(run: _Run, epoch: int, train_loss: float, opt, sched, t0: float) -> bool:
    """Validate, record, keep the best checkpoint and the resumable last one; True when early stopping ends the run."""
    cfg = run.cfg
    val_loss, val, _ = _evaluate(run.model, run.val_data, cfg, run.device)
    run.history.append(
        {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss, **val, "seconds": time.time() - t0}
    )
    if run.rank == 0 and cfg.progress:
        shown = ("auc", "accuracy") if "auc" in val else ("mass_resolution", "energy_resolution")
        print(
            f"epoch {epoch + 1}: train loss {train_loss:.4f}, val loss {val_loss:.4f}, "
            + ", ".join(f"val {k} {val[k]:.4f}" for k in shown if k in val),
            flush=True,
        )
    stop = False
    if val_loss < run.best[0]:
        run.best = (val_loss, epoch + 1)
        if run.rank == 0:
            save_checkpoint(
                run.out / "best.pt", run.model, cfg.model, {"epoch": epoch + 1, "val": val, "train_config": asdict(cfg)}
            )
    elif epoch + 1 - run.best[1] >= cfg.patience:
        stop = True
    if run.rank == 0:
        state = {
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "best_loss": run.best[0],
            "best_epoch": run.best[1],
            "history": run.history,
            "elapsed": time.time() - t0,
            "finished": stop or epoch + 1 == cfg.epochs,
        }
        extra = {"epoch": epoch + 1, "train_config": asdict(cfg), "resume": state}
        save_checkpoint(run.out / "last.pt", run.model, cfg.model, extra)
    return stop


def _evaluate(model: nn.Module, data: BucketedBatches, cfg: TrainConfig, device) -> tuple[float, dict, int]:
    """(mean loss, metrics, jets evaluated) of `model` on a split: classification metrics, or the regression metrics
    with the naive Σ-constituents baseline on the same jets under "naive"."""
    task = Task(cfg.task)
    if task is Task.CLASSIFY:
        scores, labels, loss = predict(model, data.epoch(0, shuffle=False), device, cfg.particle)
        return loss, classification_metrics(scores, labels), len(labels)
    r = predict_regression(model, data.epoch(0, shuffle=False), task, cfg.particle, device)
    naive = regression_metrics(r["jet"], r["truth"])
    return r["loss"], {**regression_metrics(r["pred"], r["truth"]), "naive": naive}, len(r["truth"])


def _finish(run: _Run, train_seconds: float) -> dict:
    """Evaluate the best checkpoint on the test split; record the test metrics in it and in metrics.json."""
    cfg = run.cfg
    ckpt_path = run.out / "best.pt"
    best_model, meta = load_checkpoint(ckpt_path)
    test_data = BucketedBatches(
        run.files["test"],
        _VAL_BATCH,
        dtype=DTYPES[cfg.dtype],
        max_particles=cfg.max_particles,
        chunk_size=cfg.chunk_size,
    )
    test_loss, test, test_jets = _evaluate(best_model.to(run.device), test_data, cfg, run.device)
    train_jets = len(run.train_data.file)
    metrics = {
        "model": cfg.model,
        "task": cfg.task,
        "out": str(run.out),
        "finished": True,
        "parameters": count_parameters(run.model),
        "train_jets": train_jets if cfg.max_train_jets is None else min(cfg.max_train_jets, train_jets),
        "test_jets": test_jets,
        "best_epoch": run.best[1],
        "train_seconds": train_seconds,
        "world_size": run.world,
        "device": str(run.device),
        "test_loss": test_loss,
        **test,
        "history": run.history,
        "config": asdict(cfg),
        "model_config": meta["config"],
    }
    if run.rank == 0:
        card = {
            "task": cfg.task,
            "particle": list(cfg.particle),
            "epoch": meta.get("epoch"),
            "val": meta.get("val"),
            "train_config": meta.get("train_config"),
            "test_metrics": {**test, "test_jets": test_jets},
            "trained_on": Path(cfg.data).name,  # the data folder's name, never a path of this machine
            "device": str(run.device),  # where it was trained (auto: CUDA when present)
        }
        save_checkpoint(ckpt_path, best_model.cpu(), cfg.model, card)
        write_text(run.out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics


def train(cfg: TrainConfig) -> dict:
    """Train, keep the best validation checkpoint, evaluate it on the test split; returns the metrics dict
    (also written to `out/metrics.json` by rank 0).

    Every check comes before training: output folder (writable; an existing run is replaced only with
    `overwrite`), all three splits read and validated with both classes present, model size against memory.
    After each epoch `out/last.pt` holds everything to resume (weights, optimizer, schedule, RNG, history); with
    `stop_after` the invocation ends after that many epochs and returns `{"out", "epoch", "finished": False}`.
    """
    run = _prepare(cfg)
    opt, sched = _optimiser(run)
    first = run.resume["epoch"] if run.resume is not None else 0
    t0 = time.time() - (run.resume["elapsed"] if run.resume is not None else 0.0)
    finished = True
    try:
        for epoch in range(first, cfg.epochs):
            if cfg.stop_after is not None and epoch - first >= cfg.stop_after:
                finished = False
                break
            train_loss = _train_epoch(run, epoch, opt, sched)
            if _end_epoch(run, epoch, train_loss, opt, sched, t0):
                break
    except KeyboardInterrupt as e:  # the caller says how to go on: the run's folder, and whether it can resume
        e.run_dir = run.out
        raise
    train_seconds = time.time() - t0
    if run.world > 1:
        dist.barrier()
    if finished:
        result = _finish(run, train_seconds)
    else:
        result = {"out": str(run.out), "epoch": run.history[-1]["epoch"] if run.history else first, "finished": False}
    if run.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return result
