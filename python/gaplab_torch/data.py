"""The batch files GapLab's Swift side writes for a job, read through numpy.memmap.

One file per epoch, `DIR/epoch-0000.bin`, `epoch-0001.bin`, ...: `steps_per_epoch` records back to back, each
little-endian float32 pixels [B, 3, S, S] (normalised, augmented, NCHW), int32 tokens [B, L], then, when the
job says `distances`, the float32 caption distance matrix [B, B] for IMSep.
"""
import os

import numpy as np
import torch


def epoch_path(directory, epoch):
    return os.path.join(directory, f"epoch-{epoch:04d}.bin")


class EpochBatches:
    """The records of one epoch's file; `batch(i)` copies record i out of the mapping."""

    def __init__(self, config, epoch, steps):
        self.path = epoch_path(config.dir, epoch)
        self.B, self.S, self.L, self.distances = config.batch_size, config.image_size, config.context_length, config.distances
        self.pixel_bytes = 4 * self.B * 3 * self.S * self.S
        self.token_bytes = 4 * self.B * self.L
        self.distance_bytes = 4 * self.B * self.B if self.distances else 0
        self.record_bytes = self.pixel_bytes + self.token_bytes + self.distance_bytes
        self.steps = steps
        expected = steps * self.record_bytes
        if not os.path.exists(self.path):
            raise ValueError(f"{self.path}: missing batch file for epoch {epoch} (batches.dir)")
        size = os.path.getsize(self.path)
        if size != expected:
            raise ValueError(f"{self.path}: {size} bytes, expected {expected} = steps_per_epoch {steps} × "
                             f"{self.record_bytes} bytes per record (batch_size {self.B}, image_size {self.S}, "
                             f"context_length {self.L}, distances {str(self.distances).lower()})")
        self.data = np.memmap(self.path, dtype=np.uint8, mode="r")

    def batch(self, index, rows=None):
        """(pixels float32 [b,3,S,S], tokens int64 [b,L], distances float32 [B,B] or None) of record `index`.

        `rows` (a slice) takes part of the batch's pairs, as one process of several does; the distance
        matrix stays whole, since the loss sees the global batch.
        """
        if not 0 <= index < self.steps:
            raise IndexError(f"{self.path}: record {index} outside 0..<{self.steps}")
        rows = rows or slice(0, self.B)
        start = index * self.record_bytes
        record = self.data[start:start + self.record_bytes]
        pixels = record[:self.pixel_bytes].view("<f4").reshape(self.B, 3, self.S, self.S)[rows]
        tokens = record[self.pixel_bytes:self.pixel_bytes + self.token_bytes].view("<i4").reshape(self.B, self.L)[rows]
        distances = None
        if self.distances:
            distances = torch.from_numpy(
                np.array(record[self.pixel_bytes + self.token_bytes:].view("<f4").reshape(self.B, self.B), np.float32))
        return (torch.from_numpy(np.array(pixels, np.float32)), torch.from_numpy(np.array(tokens, np.int64)),
                distances)


def write_epoch(path, records):
    """Writes one epoch file from (pixels, tokens, distances or None) numpy arrays; for tests and hand-made jobs."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        for pixels, tokens, distances in records:
            f.write(np.ascontiguousarray(pixels, "<f4").tobytes())
            f.write(np.ascontiguousarray(tokens, "<i4").tobytes())
            if distances is not None:
                f.write(np.ascontiguousarray(distances, "<f4").tobytes())
