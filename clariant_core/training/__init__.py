"""Training the LGN and the PFN baseline: configuration, models by name, batches, metrics, checkpoints, run folders
and the loop. `from clariant_core.training import TrainConfig, train`."""

from clariant_core.training.batches import BucketedBatches
from clariant_core.training.checkpoint import load_checkpoint, save_checkpoint
from clariant_core.training.config import DTYPES, MODELS, TrainConfig
from clariant_core.training.loop import train
from clariant_core.training.metrics import classification_metrics, predict
from clariant_core.training.models import make_model, parameter_count
from clariant_core.training.runs import RUN_FILES, default_run_dir

__all__ = [
    "DTYPES",
    "MODELS",
    "RUN_FILES",
    "BucketedBatches",
    "TrainConfig",
    "classification_metrics",
    "default_run_dir",
    "load_checkpoint",
    "make_model",
    "parameter_count",
    "predict",
    "save_checkpoint",
    "train",
]
