"""Writes tests/data/lgn_reference.pt: logits of the LGN as computed by the code *before* the fast rewrite of
network/layers.py (commit 37694d9), pinned by tests/test_lgn_reference.py.

Run from the repository root, at that commit: `python tests/data/make_lgn_reference.py`. Contents (plain tensors,
loaded with weights_only=True):
- "sample": float64 and float32 logits of the shipped checkpoint on the first 16 jets of the embedded test sample;
- "lab_beams", "small": two other architectures (randomly initialised, state dicts stored) on seeded random jets.
"""

import torch

import clariant_core as cc
from clariant.validate.strategies import random_jets
from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint

CONFIGS = {
    "lab_beams": dict(channels=(3, 2, 3), max_label=3, num_basis=3, num_scalars=1, frame="lab", beams=True),
    "small": dict(channels=(2, 3, 2, 2), max_label=1, num_basis=2),
}


def main(path="tests/data/lgn_reference.pt"):
    out = {}
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 16)
    width = int(b.mask.sum(1).max())
    p, mask = b.p[:, :width].double(), b.mask[:, :width]
    with torch.no_grad():
        out["sample"] = {
            "float64": model(p, mask),
            "float32": model.to(torch.float32)(p.float(), mask).double(),
        }
    for i, (name, kw) in enumerate(CONFIGS.items()):
        torch.manual_seed(i)
        net = cc.LGN(cc.LGNConfig(**kw)).double().eval()
        p, mask = random_jets(8, 20, seed=i + 1)
        scalars = (
            torch.randn(
                8, 20, kw.get("num_scalars", 0), generator=torch.Generator().manual_seed(i), dtype=torch.float64
            )
            if kw.get("num_scalars")
            else None
        )
        with torch.no_grad():
            logits = net(p, mask, scalars)
        out[name] = {
            "config": kw,
            "state_dict": net.state_dict(),
            "p": p,
            "mask": mask,
            "scalars": scalars,
            "float64": logits,
        }
    torch.save(out, path)


if __name__ == "__main__":
    main()
