"""Batches bucketed by multiplicity: jets of similar length share a batch, trimmed to its longest jet, which keeps
padding — and the LGN's pair sums — small."""

from __future__ import annotations

import math

import numpy as np
import torch

from clariant_core.data.readers import JetFile


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
                width = max(int(chunk.mask[idx].sum(1).max()), 1)
                yield chunk.select(idx, width)
