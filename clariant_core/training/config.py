"""What a training run is asked to do: `TrainConfig`, checked when it is made."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from clariant_core.data.particles import check_fields, num_particle_scalars
from clariant_core.devices import check_device_name
from clariant_core.network.heads import Task
from clariant_core.numerics import TRAIN_DTYPES

MODELS = ("lgn", "pfn")
DTYPES = TRAIN_DTYPES  # name → dtype a model can be trained in


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
    device: str = "auto"  # auto (CUDA when present), cpu, cuda, cuda:i
    task: str = "classify"  # classify, mass or momentum (docs/training.md)
    particle: tuple = ()  # particle-information fields fed to the model as per-particle scalars (docs/data.md)

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
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
        check_device_name(self.device)
        Task.parse(self.task)
        self.particle = check_fields(self.particle)
        for key, value in (("task", self.task), ("num_scalars", num_particle_scalars(self.particle))):
            if key in self.model_config and self.model_config[key] != value:
                raise ValueError(
                    f"model_config {key}={self.model_config[key]!r} contradicts the run's {key} {value!r} (set by "
                    "--task and --particle); leave it out of --model-config"
                )
        if self.max_train_jets is not None and self.max_train_jets < 1:
            raise ValueError(f"max_train_jets must be ≥ 1, got {self.max_train_jets}")

    def model_settings(self) -> dict:
        """The model config with the task and the number of particle scalars filled in."""
        return {**self.model_config, "task": self.task, "num_scalars": num_particle_scalars(self.particle)}

    def split(self, name: str) -> Path:
        path = Path(self.data) / f"{name}.h5"
        if not path.exists():
            raise FileNotFoundError(f"no {name} split: {path} does not exist")
        return path
