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

from .atomic import atomic_file, check_writable_folder, write_text
from .baseline import ParticleFlowNetwork, PFNConfig
from .data.readers import Batch, DataFormatError, JetFile
from .lgn import LGN, LGNConfig, count_parameters
from .resources import check_memory

MODELS = ("lgn", "pfn")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class TrainConfig:
    data: str  # folder with train.h5, val.h5, test.h5 (or explicit files below)
    out: str | None = None  # None: a new folder runs/<model>-<UTC time> (never an existing run)
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
    overwrite: bool = False  # replace a run already in `out`
    resume: bool = False  # continue the run in `out` from its last.pt (optimizer, schedule, RNG, epoch)
    stop_after: int | None = None  # end this invocation after this many epochs, leaving a resumable run

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
        if self.overwrite and self.resume:
            raise ValueError("overwrite and resume exclude each other: replace the run or continue it")
        if self.stop_after is not None and self.stop_after < 1:
            raise ValueError(f"stop_after must be ≥ 1, got {self.stop_after}")
        if self.max_train_jets is not None and self.max_train_jets < 1:
            raise ValueError(f"max_train_jets must be ≥ 1, got {self.max_train_jets}")

    def split(self, name: str) -> Path:
        path = Path(self.data) / f"{name}.h5"
        if not path.exists():
            raise FileNotFoundError(f"no {name} split: {path} does not exist")
        return path


_CONFIGS = {"lgn": LGNConfig, "pfn": PFNConfig}


def _build(kind: str, config: dict) -> nn.Module:
    config = dict(config)
    try:
        if kind == "lgn":
            for key in ("channels", "pair_scales"):
                if key in config:
                    config[key] = tuple(config[key])
            return LGN(LGNConfig(**config))
        return ParticleFlowNetwork(PFNConfig(**config))
    except TypeError as e:  # a value of the wrong type (e.g. channels: 5)
        raise ValueError(f"bad {kind} config {config}: {e}") from None


def make_model(kind: str, config: dict | None = None, *, dtype: torch.dtype = torch.float32) -> nn.Module:
    """A fresh model of `kind` from its config dict. Unknown keys are refused, and the parameters, their gradients
    and the optimiser's two moments (4 copies, in `dtype`) must fit in memory — checked before anything is allocated.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {MODELS}")
    if not isinstance(config or {}, dict):
        raise ValueError(f"a {kind} config must be a JSON object (dict), got {type(config).__name__}")
    config = dict(config or {})
    known = set(_CONFIGS[kind].__dataclass_fields__)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"unknown {kind} config key(s) {unknown}; known keys: {sorted(known)}")
    try:
        nbytes = parameter_count(kind, config) * torch.finfo(dtype).bits // 8
    except TypeError as e:
        raise ValueError(f"bad {kind} config {config}: {e}") from None
    check_memory(4 * nbytes, f"the {kind} model {config} (weights, gradients, optimiser state)")
    return _build(kind, config)


def parameter_count(kind: str, config: dict) -> int:
    """Number of (real) parameters of the model `config` describes, without building it.

    The LGN's count is multi-affine in the channel counts τ_0…τ_L with couplings only between neighbours (level i
    maps τ_i to τ_{i+1} channels; every other layer is linear in one τ), so it is exact from tiny probe models around
    τ = 1: P(τ) = P(1) + Σ_i D_i (τ_i − 1) + Σ_i A_i (τ_i − 1)(τ_{i+1} − 1). A PFN is built (it is small by design).
    """

    def count(cfg):
        return sum(p.numel() * (2 if p.is_complex() else 1) for p in _build(kind, cfg).parameters())

    if kind != "lgn" or "channels" not in config:
        if kind == "pfn":
            c = PFNConfig(**config)
            return (
                (7 + 1) * c.phi_hidden
                + (c.phi_hidden + 1) * c.phi_hidden
                + (c.phi_hidden + 1) * c.latent
                + (c.latent + 1) * c.f_hidden
                + (c.f_hidden + 1) * c.num_classes
            )
        return count(config)
    tau = list(config["channels"]) if isinstance(config["channels"], (list, tuple)) else None
    if tau is None or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in tau) or len(tau) < 2:
        return count(config)  # let LGNConfig report the bad value

    def probe(bumps):
        ch = [1] * len(tau)
        for i in bumps:
            ch[i] = 2
        return count({**config, "channels": ch})

    base = probe(())
    d = [probe((i,)) - base for i in range(len(tau))]
    a = [probe((i, i + 1)) - base - d[i] - d[i + 1] for i in range(len(tau) - 1)]
    return (
        base
        + sum(d[i] * (tau[i] - 1) for i in range(len(tau)))
        + sum(a[i] * (tau[i] - 1) * (tau[i + 1] - 1) for i in range(len(tau) - 1))
    )


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
    if not scores:
        raise ValueError("no jets to evaluate")
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
    missing = [k for k in ("kind", "config", "dtype", "state_dict") if k not in ckpt]
    if missing:
        raise ValueError(f"{path}: checkpoint lacks {missing}")
    if ckpt["kind"] not in MODELS:
        raise ValueError(f"{path}: unknown model kind {ckpt['kind']!r}; expected one of {MODELS}")
    if ckpt["dtype"] not in _DTYPES:
        raise ValueError(f"{path}: checkpoint dtype {ckpt['dtype']!r} is not one of {sorted(_DTYPES)}")
    try:
        model = make_model(ckpt["kind"], ckpt["config"], dtype=_DTYPES[ckpt["dtype"]])
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    model.to(_DTYPES[ckpt["dtype"]])
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


# --- training ---------------------------------------------------------------------------------------------------
def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), dist.get_world_size()) if world > 1 else (0, 1)


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


def _resolve_out(cfg: TrainConfig, rank: int, world: int) -> Path:
    if cfg.out is not None:
        return Path(cfg.out)
    name = [str(default_run_dir(cfg.model))] if rank == 0 else [None]
    if world > 1:
        dist.broadcast_object_list(name, src=0)
    return Path(name[0])


def _describe_run(out: Path) -> str:
    try:
        meta = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
        return f"best.pt from epoch {meta.get('epoch')}"
    except Exception:  # noqa: BLE001 — only a description
        return ", ".join(f for f in RUN_FILES if (out / f).exists())


def _check_out(cfg: TrainConfig, out: Path) -> None:
    """Before any data is read: the folder can be written, and an existing run is neither replaced unasked nor
    resumed when there is nothing to resume."""
    check_writable_folder(out)
    existing = [f for f in RUN_FILES if (out / f).exists()]
    if cfg.resume:
        if not (out / "last.pt").exists():
            raise FileNotFoundError(f"--resume: {out} holds no last.pt to resume from")
    elif existing and not cfg.overwrite:
        raise FileExistsError(
            f"{out} already holds a run ({_describe_run(out)}); pass --overwrite to replace it, --resume to "
            "continue it, or choose another --out"
        )


def _check_splits(cfg: TrainConfig, files: dict) -> None:
    """Read every split once (values validated, labels counted) before a model is built: each split must hold jets
    of both classes, which training, early stopping and the test metrics all need."""
    for name, f in files.items():
        stop = cfg.max_train_jets if name == "train" else None
        n0, n1 = f.label_counts(stop=stop, chunk_size=cfg.chunk_size)
        if n0 + n1 == 0:
            raise DataFormatError(f"{f.path}: the {name} split holds no jets")
        if n0 == 0 or n1 == 0:
            raise DataFormatError(
                f"{f.path}: the {name} split holds {n0} QCD and {n1} top jets; training, validation and the test "
                "metrics need both classes"
            )


def _load_resume(cfg: TrainConfig, out: Path) -> dict:
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


def train(cfg: TrainConfig) -> dict:
    """Train, keep the best validation checkpoint, evaluate it on the test split; returns the metrics dict
    (also written to `out/metrics.json` by rank 0).

    Every check comes before training: output folder (writable; an existing run is replaced only with
    `overwrite`), all three splits read and validated with both classes present, model size against memory.
    After each epoch `out/last.pt` holds everything to resume (weights, optimizer, schedule, RNG, history); with
    `stop_after` the invocation ends after that many epochs and returns `{"out", "epoch", "finished": False}`.
    """
    rank, world = _distributed()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = _resolve_out(cfg, rank, world)
    _check_out(cfg, out)
    torch.manual_seed(cfg.seed)
    dtype = _DTYPES[cfg.dtype]
    model = make_model(cfg.model, cfg.model_config, dtype=dtype).to(dtype)
    files = {name: JetFile(cfg.split(name)) for name in ("train", "val", "test")}
    _check_splits(cfg, files)
    resume = _load_resume(cfg, out) if cfg.resume else None
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if cfg.overwrite:
            for f in RUN_FILES:
                (out / f).unlink(missing_ok=True)
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
    ddp = nn.parallel.DistributedDataParallel(model) if world > 1 else model
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
    first, elapsed = 0, 0.0
    if resume is not None:
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        torch.set_rng_state(resume["torch_rng"])
        best, history = (resume["best_loss"], resume["best_epoch"]), list(resume["history"])
        first, elapsed = resume["epoch"], resume["elapsed"]
    t0 = time.time() - elapsed
    ckpt_path = out / "best.pt"
    finished = True
    for epoch in range(first, cfg.epochs):
        if cfg.stop_after is not None and epoch - first >= cfg.stop_after:
            finished = False
            break
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
        stop = False
        if val_loss < best[0]:
            best = (val_loss, epoch + 1)
            if rank == 0:
                save_checkpoint(
                    ckpt_path, model, cfg.model, {"epoch": epoch + 1, "val": val, "train_config": asdict(cfg)}
                )
        elif epoch + 1 - best[1] >= cfg.patience:
            stop = True
        if rank == 0:
            state = {
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "best_loss": best[0],
                "best_epoch": best[1],
                "history": history,
                "elapsed": time.time() - t0,
                "finished": stop or epoch + 1 == cfg.epochs,
            }
            save_checkpoint(
                out / "last.pt", model, cfg.model, {"epoch": epoch + 1, "train_config": asdict(cfg), "resume": state}
            )
        if stop:
            break
    if not finished:
        if world > 1:
            dist.barrier()
            dist.destroy_process_group()
        return {"out": str(out), "epoch": history[-1]["epoch"] if history else first, "finished": False}
    train_seconds = time.time() - t0
    if world > 1:
        dist.barrier()
    best_model, meta = load_checkpoint(ckpt_path)
    test_data = BucketedBatches(files["test"], 256, **common)
    scores, labels, test_loss = predict(best_model, test_data.epoch(0, shuffle=False))
    metrics = {
        "model": cfg.model,
        "out": str(out),
        "finished": True,
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
