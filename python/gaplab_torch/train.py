"""The training loop of one job, step for step as GapLab's Swift Trainer, reporting on a JSON-lines stream.

Step order (Sources/GapTrain/Trainer.swift): forward, loss (a non-finite loss stops the run), zero the
gradients, backward (the logit scale takes no gradient when it is not learned), a non-finite gradient
stops the run, clip the global gradient norm when `grad_clip_norm` > 0, lr = schedule(step), AdamW,
clamp the logit scale to [0, ln 100].
"""
import datetime
import json
import math
import os
import select
import sys
import time
from contextlib import nullcontext

import torch

from . import checkpoint as ckpt
from ._openclip import open_clip
from .config import JobError
from .data import EpochBatches
from .losses import contrastive_loss
from .model import GapCLIP
from .optim import clamp_logit_scale, make_optimizer, make_schedule, trainable_parameters

KILLED_STATUS = 143


class TrainingError(RuntimeError):
    """A failure that stops training: never a silent NaN run."""


class Killed(Exception):
    """SIGTERM arrived while the run waited for its supervisor."""


class SupervisorGone(Exception):
    pass


class StopSignal:
    """Set by the SIGTERM handler; the loop stops at the next step boundary."""

    def __init__(self):
        self.requested = False
        self.waiting = False

    def handle(self, signum, frame):
        self.requested = True
        if self.waiting:
            raise Killed()


class Stream:
    """One JSON object per line, flushed; silent on every process but the first of a distributed run."""

    def __init__(self, out, enabled=True):
        self.out, self.enabled = out, enabled

    def emit(self, event, **fields):
        if not self.enabled:
            return
        record = {"event": event, **{k: _finite_or_none(v) for k, v in fields.items()}}
        try:
            self.out.write(json.dumps(record, allow_nan=False) + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):  # ValueError: the handle is closed
            # Nobody reads the stream any more: stop rather than train unobserved.
            self.enabled = False
            raise SupervisorGone("the reader of the event stream is gone (stdout closed)") from None


def _finite_or_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


class Distributed:
    """torchrun's process group (WORLD_SIZE > 1), or a single process."""

    def __init__(self):
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world_size > 1
        self.device = None

    @property
    def is_main(self):
        return self.rank == 0

    def start(self, device):
        self.device = device
        if self.enabled:
            backend = "nccl" if device.type == "cuda" else "gloo"
            # Long enough for the supervisor's evaluation between epochs, during which the other ranks wait.
            torch.distributed.init_process_group(backend, timeout=datetime.timedelta(hours=6))

    def any(self, flag):
        """True on every process when `flag` is true on any."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def rows(self, batch_size):
        """The rows of each global batch this process trains on."""
        per = batch_size // self.world_size
        return slice(self.rank * per, (self.rank + 1) * per)

    def gather(self, image, text):
        if not self.enabled:
            return image, text
        from open_clip.loss import gather_features
        # As open_clip's ClipLoss(gather_with_grad=True, local_loss=False): every process computes the loss of
        # the global batch; with DDP's gradient averaging that gives the single-process gradient.
        return gather_features(image, text, local_loss=False, gather_with_grad=True, rank=self.rank,
                               world_size=self.world_size)

    def stop(self):
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def resolve_device(job, dist):
    if job.device == "auto":
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        kind = job.device
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise JobError(f"{job.path}: device: \"cuda\" but torch {torch.__version__} sees no CUDA device")
        torch.cuda.set_device(dist.local_rank)
        return torch.device("cuda", dist.local_rank)
    return torch.device("cpu")


class _Forward(torch.nn.Module):
    """The model's forward with the logit scale, so that DDP sees every parameter used in its forward."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images, tokens):
        image, text = self.model(images, tokens)
        return image, text, self.model.logit_scale


def _first_non_finite(named):
    grads = [(n, p.grad) for n, p in named if p.grad is not None]
    finite = torch.stack([torch.isfinite(g).all() for _, g in grads])
    if bool(finite.all()):
        return None
    return grads[int((~finite).nonzero()[0, 0])][0]


def run(job, stream, stdin, stop=None, dist=None):
    """Trains the job; returns the process exit status (0 done, 143 stopped by SIGTERM)."""
    stop = stop or StopSignal()
    dist = dist or Distributed()
    device = resolve_device(job, dist)
    if job.precision == "amp_bf16" and device.type != "cuda":
        raise JobError(f"{job.path}: precision: \"amp_bf16\" needs a CUDA device; the job runs on {device.type}")
    if dist.enabled and job.batches.batch_size % dist.world_size:
        raise JobError(f"{job.path}: batches.batch_size {job.batches.batch_size} does not split evenly over "
                       f"{dist.world_size} processes")
    dist.start(device)
    torch.set_num_threads(job.threads)
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    torch.manual_seed(job.seed)

    model = GapCLIP(job.model)
    if job.initial_weights is not None:
        ckpt.load_weights(model, job.initial_weights)
    if not job.train.learn_logit_scale:
        model.logit_scale.requires_grad_(False)
    model.set_grad_checkpointing(job.grad_checkpointing)
    model.to(device)
    named = trainable_parameters(model, job.train)
    optimizer = make_optimizer(model, job.train)
    schedule = make_schedule(optimizer, job.train, job.total_steps)
    N, epochs = job.steps_per_epoch, job.train.epochs

    stream.emit("started", parameters=model.parameter_count(), device=device.type, torch=torch.__version__,
                open_clip=open_clip.__version__)
    step = epoch = 0
    if job.checkpoint is not None and os.path.exists(job.checkpoint):
        step, epoch, _ = ckpt.load_checkpoint(job.checkpoint, model, optimizer, named, job.seed)
        within = step - epoch * N
        if not (0 <= epoch <= epochs and 0 <= within <= N and step <= job.total_steps):
            raise JobError(f"{job.checkpoint}: checkpoint at step {step}, epoch {epoch} does not fit this job "
                           f"(steps_per_epoch {N}, train.epochs {epochs})")
        stream.emit("resumed", epoch=epoch, step=step)

    forward = _Forward(model)
    if dist.enabled:
        forward = torch.nn.parallel.DistributedDataParallel(
            forward, device_ids=[device.index] if device.type == "cuda" else None)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if job.precision == "amp_bf16" else nullcontext())
    rows = dist.rows(job.batches.batch_size)
    if dist.is_main:
        os.makedirs(job.output, exist_ok=True)

    def state_metadata(epochs_done):
        return {"gaplab.step": step, "gaplab.epoch": epochs_done, "gaplab.seed": job.seed, "gaplab.engine": "torch"}

    def write_checkpoint(epochs_done):
        if dist.is_main:
            ckpt.save_checkpoint(job.checkpoint, model, optimizer, named, step, epochs_done, job.seed)

    def supervisor_stopped_reading():
        # A supervisor that fails closes stdin before its SIGTERM: the steps since its last acknowledgement are
        # not in its store, so a checkpoint past them would lose their records on resume.
        if not job.supervised or not dist.is_main:
            return False
        try:
            ready, _, _ = select.select([stdin], [], [], 0)
        except (ValueError, OSError, TypeError):
            return False
        return bool(ready) and stdin.readline() == ""

    def killed(epochs_done):
        path = None
        if job.checkpoint is not None and not supervisor_stopped_reading():
            write_checkpoint(epochs_done)
            path = job.checkpoint
        stream.emit("killed", checkpoint=path, step=step)
        return KILLED_STATUS

    model.train()
    while epoch < epochs:
        batches = EpochBatches(job.batches, epoch, N)
        for index in range(step - epoch * N, N):
            if dist.any(stop.requested):
                return killed(epoch)
            started = time.perf_counter()
            pixels, tokens, distances = batches.batch(index, rows)
            pixels, tokens = pixels.to(device, non_blocking=True), tokens.to(device, non_blocking=True)
            if distances is not None:
                distances = distances.to(device, non_blocking=True)
            with autocast:
                image, text, logit_scale = forward(pixels, tokens)
            image, text = dist.gather(image, text)
            total, terms = contrastive_loss(image, text, logit_scale, job.loss, distances)
            loss = total.item()
            if not math.isfinite(loss):
                raise TrainingError(f"training stopped at step {step}: the loss ({loss}) is not finite")
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            bad = _first_non_finite(named)
            if bad is not None:
                raise TrainingError(f"training stopped at step {step}: the gradient of {bad} is not finite")
            norm = None
            if job.train.grad_clip_norm > 0:
                norm = float(torch.nn.utils.clip_grad_norm_([p for _, p in named], job.train.grad_clip_norm))
            lr = schedule(step)
            optimizer.step()
            clamp_logit_scale(model)
            record = dict(step=step, epoch=epoch, steps_per_epoch=N, total_steps=job.total_steps, loss=loss,
                          terms=[[name, value.item()] for name, value in terms], lr=lr,
                          logit_scale=model.logit_scale.item(), grad_norm=norm)
            step += 1
            record["samples_per_second"] = job.batches.batch_size / max(time.perf_counter() - started, 1e-9)
            stream.emit("step", **record)
        if dist.any(stop.requested):
            return killed(epoch)

        done = epoch + 1
        weights = os.path.join(job.output, f"epoch-{done}.safetensors")
        if dist.is_main:
            ckpt.save_weights(model, weights, state_metadata(done))
        stream.emit("epoch_end", epoch=done, step=step, weights=weights)
        if job.supervised:
            # The supervisor records the epoch's evaluation before the checkpoint may move past it.
            gone = interrupted = False
            if dist.is_main:
                try:
                    stop.waiting = True
                    if stop.requested:
                        raise Killed()
                    gone = stdin.readline() == ""
                except Killed:
                    interrupted = True
                finally:
                    stop.waiting = False
            if dist.any(interrupted):
                # The epoch's steps are done but not its end: a resume writes its weights and asks again.
                return killed(epoch)
            if dist.any(gone):
                raise SupervisorGone(f"the supervisor closed stdin after epoch {done}; stopping without "
                                     f"writing the checkpoint")
        epoch = done
        if job.checkpoint is not None:
            write_checkpoint(epoch)
            stream.emit("checkpoint", path=job.checkpoint, epoch=epoch)

    final = os.path.join(job.output, "final.safetensors")
    if dist.is_main:
        ckpt.save_weights(model, final, state_metadata(epoch))
    stream.emit("finished", weights=final, step=step)
    return 0
