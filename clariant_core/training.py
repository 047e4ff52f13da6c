"""Training and evaluation: `clariant train` and its Python API.

AdamW, linear warm-up then cosine decay, early stopping on validation loss, tqdm progress, atomic checkpoints loaded
with `weights_only=True`, seeded; metrics on the test split: accuracy, AUC, background rejection 1/ε_B at signal
efficiency 0.3 and 0.5, parameter count, training time — written as JSON. Multi-process data-parallel training with
torch.distributed when launched by `torchrun` (gloo on CPU, NCCL on GPUs).

Batches are bucketed by multiplicity (jets of similar length share a batch, trimmed to its longest jet), which keeps
padding — and the LGN's pair sums — small.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .atomic import atomic_file, write_text
from .baseline import ParticleFlowNetwork, PFNConfig
from .data.readers import Batch, JetFile
from .lgn import LGN, LGNConfig, count_parameters

MODELS = ("lgn", "pfn")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class TrainConfig:
    data: str  # folder with train.h5, val.h5, test.h5 (or explicit files below)
    out: str = "runs/default"
    model: str = "lgn"
    model_config: dict = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    patience: int = 4
    seed: int = 0
    dtype: str = "float32"
    max_particles: int = 200
    max_train_jets: int | None = None
    chunk_size: int = 50_000
    threads: int | None = None
    progress: bool = True

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        for name in ("epochs", "batch_size", "max_particles", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr) and self.weight_decay >= 0 and 0 <= self.warmup_fraction < 1):
            raise ValueError(f"unphysical optimiser settings lr={self.lr}, weight_decay={self.weight_decay}")
        if self.patience < 1:
            raise ValueError(f"patience must be ≥ 1, got {self.patience}")

    def split(self, name: str) -> Path:
        path = Path(self.data) / f"{name}.h5"
        if not path.exists():
            raise FileNotFoundError(f"no {name} split: {path} does not exist")
        return path


def make_model(kind: str, config: dict | None = None) -> nn.Module:
    config = dict(config or {})
    if kind == "lgn":
        for key in ("channels", "pair_scales"):
            if key in config:
                config[key] = tuple(config[key])
        return LGN(LGNConfig(**config))
    if kind == "pfn":
        return ParticleFlowNetwork(PFNConfig(**config))
    raise ValueError(f"unknown model kind {kind!r}; expected one of {MODELS}")


# --- data ---
class BucketedBatches:
    """Epoch iterator over a JetFile: chunks in random order, jets of similar multiplicity batched together, batches
    shuffled, each trimmed to its longest jet. With `world > 1`, rank r takes every world-th batch."""

    def __init__(self, file: JetFile, batch_size, *, dtype, max_particles, chunk_size, stop=None, rank=0, world=1):
        self.file, self.batch_size, self.dtype = file, batch_size, dtype
        self.max_particles, self.chunk_size = max_particles, chunk_size
        self.stop = len(file) if stop is None else min(stop, len(file))
        self.rank, self.world = rank, world
        self._cache = None
        if self.stop <= chunk_size:  # small file: read once
            self._cache = [self.file.read(0, self.stop, dtype=dtype, max_particles=max_particles)]

    def _chunks(self, rng):
        if self._cache is not None:
            yield from self._cache
            return
        starts = list(range(0, self.stop, self.chunk_size))
        for i in rng.permutation(len(starts)):
            s = starts[i]
            yield self.file.read(
                s, min(s + self.chunk_size, self.stop), dtype=self.dtype, max_particles=self.max_particles
            )

    def num_batches(self) -> int:
        return (
            sum(
                math.ceil(min(self.chunk_size, self.stop - s) / self.batch_size)
                for s in range(0, self.stop, self.chunk_size)
            )
            // self.world
        )

    def epoch(self, seed: int, shuffle: bool = True):
        rng = np.random.default_rng(seed)
        for chunk in self._chunks(rng):
            n = chunk.mask.sum(1).numpy()
            jitter = rng.random(len(n)) if shuffle else np.zeros(len(n))
            order = np.lexsort((jitter, n))  # by multiplicity, random within equal multiplicity
            batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            if shuffle:
                batches = [batches[i] for i in rng.permutation(len(batches))]
            usable = len(batches) - len(batches) % self.world if self.world > 1 else len(batches)
            for k in range(self.rank, usable, self.world):
                idx = torch.from_numpy(np.sort(batches[k]))
                m = chunk.mask[idx]
                width = max(int(m.sum(1).max()), 1)
                yield Batch(chunk.p[idx, :width].contiguous(), m[:, :width].contiguous(), chunk.label[idx])


# --- metrics ---
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
def predict(model: nn.Module, batches) -> tuple[np.ndarray, np.ndarray, float]:
    """Signal probabilities, labels and mean cross-entropy over an iterable of Batches."""
    model.eval()
    scores, labels, loss, n = [], [], 0.0, 0
    for b in batches:
        logits = model(b.p, b.mask)
        loss += float(nn.functional.cross_entropy(logits, b.label, reduction="sum"))
        n += len(b.label)
        scores.append(torch.softmax(logits.double(), -1)[:, 1].numpy())
        labels.append(b.label.numpy())
    return np.concatenate(scores), np.concatenate(labels), loss / max(n, 1)


# --- checkpoints ---
def save_checkpoint(path, model: nn.Module, kind: str, extra: dict | None = None) -> Path:
    """Atomic: written to a temporary file in the same folder, then renamed over the target."""
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
        torch.save(payload, tmp)
    return path


def load_checkpoint(path, dtype: torch.dtype | None = None) -> tuple[nn.Module, dict]:
    """(model in eval mode, the checkpoint's metadata). Loaded with weights_only=True: no code is unpickled."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 — any unpickling failure means a corrupt or foreign file
        raise ValueError(f"{path} is not a readable CLARIANT checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != "clariant-checkpoint-1":
        raise ValueError(f"{path} is not a CLARIANT checkpoint (missing format tag)")
    model = make_model(ckpt["kind"], ckpt["config"])
    model.to(_DTYPES[ckpt["dtype"]])
    model.load_state_dict(ckpt["state_dict"])
    if dtype is not None:
        model.to(dtype)
    meta = {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model.eval(), meta


# --- training ---------------------------------------------------------------------------------------------------
def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), dist.get_world_size()) if world > 1 else (0, 1)


def train(cfg: TrainConfig) -> dict:
    """Train, keep the best validation checkpoint, evaluate it on the test split; returns the metrics dict
    (also written to `out/metrics.json` by rank 0)."""
    rank, world = _distributed()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    dtype = _DTYPES[cfg.dtype]
    out = Path(cfg.out)
    model = make_model(cfg.model, cfg.model_config).to(dtype)
    ddp = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    files = {name: JetFile(cfg.split(name)) for name in ("train", "val", "test")}
    common = dict(dtype=dtype, max_particles=cfg.max_particles, chunk_size=cfg.chunk_size)
    train_data = BucketedBatches(
        files["train"], cfg.batch_size, stop=cfg.max_train_jets, rank=rank, world=world, **common
    )
    val_data = BucketedBatches(files["val"], 256, **common)
    steps_per_epoch = max(train_data.num_batches(), 1)
    total = steps_per_epoch * cfg.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(int(cfg.warmup_fraction * total), 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min((s + 1) / warm, 0.5 * (1 + math.cos(math.pi * min(max(s - warm, 0) / max(total - warm, 1), 1)))),
    )
    from tqdm import tqdm

    best = (float("inf"), -1)
    history = []
    t0 = time.time()
    ckpt_path = out / "best.pt"
    for epoch in range(cfg.epochs):
        model.train()
        bar = tqdm(
            train_data.epoch(cfg.seed * 1000 + epoch),
            total=steps_per_epoch,
            unit="batch",
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=not cfg.progress or rank != 0,
        )
        run_loss = n = 0
        for b in bar:
            loss = nn.functional.cross_entropy(ddp(b.p, b.mask), b.label)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            run_loss += loss.item() * len(b.label)
            n += len(b.label)
            bar.set_postfix(loss=f"{run_loss / max(n, 1):.4f}")
        scores, labels, val_loss = predict(model, val_data.epoch(0, shuffle=False))
        val = classification_metrics(scores, labels)
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": run_loss / max(n, 1),
                "val_loss": val_loss,
                **val,
                "seconds": time.time() - t0,
            }
        )
        if rank == 0 and cfg.progress:
            print(
                f"epoch {epoch + 1}: train loss {run_loss / max(n, 1):.4f}, val loss {val_loss:.4f}, "
                f"val AUC {val['auc']:.4f}, val acc {val['accuracy']:.4f}",
                flush=True,
            )
        if val_loss < best[0]:
            best = (val_loss, epoch + 1)
            if rank == 0:
                save_checkpoint(
                    ckpt_path, model, cfg.model, {"epoch": epoch + 1, "val": val, "train_config": asdict(cfg)}
                )
        elif epoch + 1 - best[1] >= cfg.patience:
            break
    train_seconds = time.time() - t0
    if world > 1:
        dist.barrier()
    best_model, meta = load_checkpoint(ckpt_path)
    test_data = BucketedBatches(files["test"], 256, **common)
    scores, labels, test_loss = predict(best_model, test_data.epoch(0, shuffle=False))
    metrics = {
        "model": cfg.model,
        "parameters": count_parameters(model),
        "train_jets": len(train_data.file)
        if cfg.max_train_jets is None
        else min(cfg.max_train_jets, len(train_data.file)),
        "test_jets": int(len(labels)),
        "best_epoch": best[1],
        "train_seconds": train_seconds,
        "world_size": world,
        "test_loss": test_loss,
        **classification_metrics(scores, labels),
        "history": history,
        "config": asdict(cfg),
        "model_config": meta["config"],
    }
    if rank == 0:
        test = {k: metrics[k] for k in ("accuracy", "auc", "rejection_at_0.3", "rejection_at_0.5", "test_jets")}
        save_checkpoint(
            ckpt_path,
            best_model,
            cfg.model,
            {
                "epoch": meta.get("epoch"),
                "val": meta.get("val"),
                "train_config": meta.get("train_config"),
                "test_metrics": test,
                "trained_on": str(cfg.data),
            },
        )
        write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return metrics
