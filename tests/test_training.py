"""Training: the Python API and `clariant train`, checkpoints, metrics, reproducibility, 2-process data parallel."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import TrainConfig, classification_metrics, load_checkpoint, save_checkpoint, train

QUICK = dict(data=str(SAMPLE_DIR), epochs=1, batch_size=64, max_train_jets=192, progress=False, threads=1)


def test_metrics_against_known_values():
    labels = np.array([0, 0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    m = classification_metrics(scores, labels)
    assert m["auc"] == 1.0 and m["accuracy"] == pytest.approx(5 / 6)
    assert m["rejection_at_0.3"] == float("inf")  # no background passes at 30% signal efficiency
    with pytest.raises(ValueError, match="both classes"):
        classification_metrics(scores[:3], labels[:3])


@pytest.mark.parametrize("model", ["pfn", "lgn"])
def test_train_writes_metrics_and_checkpoint(tmp_path, model):
    m = train(TrainConfig(out=str(tmp_path), model=model, **QUICK))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("accuracy", "auc", "rejection_at_0.3", "rejection_at_0.5", "parameters", "train_seconds"):
        assert key in saved and saved[key] == m[key]
    assert saved["test_jets"] == 600 and saved["train_jets"] == 192
    net, meta = load_checkpoint(tmp_path / "best.pt")
    assert meta["kind"] == model and meta["epoch"] == 1
    assert sum(p.numel() for p in net.parameters()) == m["parameters"]
    # the loaded model reproduces the recorded test metrics
    from clariant_core.data import JetFile
    from clariant_core.training import BucketedBatches, predict

    batches = BucketedBatches(
        JetFile(SAMPLE_DIR / "test.h5"), 256, dtype=torch.float32, max_particles=200, chunk_size=50_000
    )
    scores, labels, _ = predict(net, batches.epoch(0, shuffle=False))
    assert classification_metrics(scores, labels)["auc"] == pytest.approx(m["auc"], abs=1e-12)


def test_training_is_seeded(tmp_path):
    a = train(TrainConfig(out=str(tmp_path / "a"), model="pfn", seed=3, **QUICK))
    b = train(TrainConfig(out=str(tmp_path / "b"), model="pfn", seed=3, **QUICK))
    c = train(TrainConfig(out=str(tmp_path / "c"), model="pfn", seed=4, **QUICK))
    assert a["history"][0]["train_loss"] == b["history"][0]["train_loss"]
    assert a["auc"] == b["auc"] and a["history"][0]["train_loss"] != c["history"][0]["train_loss"]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable CLARIANT checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="missing format tag"):
        load_checkpoint(tmp_path / "foreign.pt")
    import clariant_core as cc

    path = save_checkpoint(tmp_path / "ok.pt", cc.LGN(), "lgn")
    before = path.read_bytes()
    assert [x.name for x in tmp_path.iterdir() if x.name.startswith(".")] == []
    net, _ = load_checkpoint(path, dtype=torch.float64)
    assert next(net.parameters()).dtype == torch.float64 and path.read_bytes() == before


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(model="cnn"), "model must be"),
        (dict(dtype="float16"), "dtype must be"),
        (dict(lr=-1.0), "unphysical"),
        (dict(epochs=0), "epochs must be"),
    ],
)
def test_bad_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(data=str(SAMPLE_DIR), **kw)


def test_missing_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="no train split"):
        train(TrainConfig(data=str(tmp_path), out=str(tmp_path / "o"), progress=False))


@pytest.mark.parametrize(
    "task, model, port",
    [
        ("classify", ["--model", "pfn"], 29533),
        # the four-vector LGN leaves three weights of its last level out of the loss: DDP must be told (static graph)
        ("momentum", ["--model", "lgn", "--model-config", '{"channels": [2, 2, 2], "mlp_hidden": 8}'], 29534),
    ],
)
def test_data_parallel_two_processes(tmp_path, task, model, port):
    """torchrun with 2 CPU processes (gloo): both ranks train on disjoint batches, rank 0 writes the results."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}"]
    cmd += ["-m", "clariant.cli", "train", "--task", task, *model, "--epochs", "1", "--max-train-jets", "256"]
    cmd += ["--batch-size", "32", "--threads", "1", "--quiet", "--out", str(tmp_path)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["world_size"] == 2 and (0.5 < m["auc"] <= 1 if task == "classify" else m["mass_resolution"] > 0)
    assert (tmp_path / "best.pt").exists()


# --- regression tasks (docs/training.md, "Regression") ------------------------------------------------------------

TINY_LGN = '{"channels": [2, 2, 2], "mlp_hidden": 8, "output_hidden": 8}'


def test_momentum_run_end_to_end_and_validated_as_a_vector(tmp_path):
    """`clariant train --task momentum` on the embedded sample (seconds), then `clariant validate` on its
    checkpoint: the four-vector output is judged as a vector (judged as an invariant it would be BROKEN, see
    test_heads.py) and the report's model card carries the regression metrics."""
    from clariant.cli import main

    out = tmp_path / "run"
    args = ["train", "--task", "momentum", "--epochs", "1", "--max-train-jets", "64", "--batch-size", "16"]
    assert main([*args, "--model-config", TINY_LGN, "--out", str(out), "--quiet", "--threads", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "momentum" and metrics["test_jets"] == 289  # the sample's top jets in test.h5
    for key in ("mass_resolution", "energy_resolution", "pt_resolution", "delta_r_median"):
        assert metrics[key] > 0 and metrics["naive"][key] > 0
    net, meta = load_checkpoint(out / "best.pt")
    assert meta["config"]["task"] == "momentum" and meta["task"] == "momentum"
    assert meta["test_metrics"]["mass_resolution"] == metrics["mass_resolution"]
    report = tmp_path / "report"
    validate_args = ["validate", "--checkpoint", str(out / "best.pt"), "--jets", "2", "--dtype", "float64"]
    code = main([*validate_args, "--rapidities", "1,4", "--axes", "x,z", "--out", str(report)])
    card = json.loads((report / "report.json").read_text())
    assert card["verdict"] == "PASS" and code == 0
    assert (
        card["model_card"]["task"].startswith("momentum") and "energy_resolution" in card["model_card"]["test metrics"]
    )


@pytest.mark.parametrize("model", ["pfn", "lgn"])
def test_mass_run_and_particle_scalars(tmp_path, model):
    from clariant_core.data import write_public_layout

    # the sample's splits with a charge field (random, for the plumbing): --particle charge feeds it to the model
    for name in ("train", "val", "test"):
        b = JetFile(SAMPLE_DIR / f"{name}.h5").read(0, 96)
        q = torch.where(b.mask, torch.randint(-1, 2, b.mask.shape, generator=torch.Generator().manual_seed(0)), 0)
        write_public_layout(tmp_path / f"{name}.h5", b.p, b.label, b.truth, particle={"charge": q})
    config = json.loads(TINY_LGN) if model == "lgn" else {}
    m = train(
        TrainConfig(
            data=str(tmp_path),
            out=str(tmp_path / "run"),
            model=model,
            model_config=config,
            task="mass",
            particle=("charge",),
            epochs=1,
            batch_size=32,
            progress=False,
            threads=1,
        )
    )
    assert m["task"] == "mass" and "energy_resolution" not in m and m["mass_resolution"] > 0
    net, meta = load_checkpoint(tmp_path / "run" / "best.pt")
    assert meta["config"]["num_scalars"] == 2 and meta["particle"] == ["charge"]
    with pytest.raises(ValueError, match="no particle field"):
        train(TrainConfig(**{**QUICK, "out": str(tmp_path / "x"), "task": "mass", "particle": ("charge",)}))
    with pytest.raises(ValueError, match="contradicts"):
        TrainConfig(data=str(tmp_path), task="mass", model_config={"task": "momentum"})
