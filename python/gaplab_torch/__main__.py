"""python3 -m gaplab_torch train --job JOB.json
python3 -m gaplab_torch convert CHECKPOINT.pt OUT.safetensors
python3 -m gaplab_torch open-clip-train ARGS...

`train` trains one job (python/README.md describes the job file); its stdout carries only the event stream, one
JSON object per line, and everything else (library output included) goes to stderr. `convert` writes an
open_clip checkpoint's weights as safetensors with open_clip's names, which GapLab reads. `open-clip-train` runs
open_clip's own trainer (`open_clip_train.main`) with ARGS, importable next to a CPU-only torch wheel.
"""
import argparse
import os
import signal
import sys
import traceback


def _take_stdout_for_stream():
    """A private handle on the real stdout for the stream; fd 1 and sys.stdout then point at stderr, so that
    nothing printed by a library can break the protocol."""
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def _train(args):
    # cuBLAS reads this when it starts; deterministic algorithms on CUDA need it.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    from .config import JobError, load_job
    from .train import Distributed, Killed, Stream, StopSignal, SupervisorGone, TrainingError, run

    out = _take_stdout_for_stream()
    dist = Distributed()
    stream = Stream(out, enabled=dist.is_main)
    stop = StopSignal()
    signal.signal(signal.SIGTERM, stop.handle)
    try:
        job = load_job(args.job)
        status = run(job, stream, sys.stdin, stop=stop, dist=dist)
    except (JobError, TrainingError, SupervisorGone, ValueError, Killed) as e:
        message = str(e) or type(e).__name__
        print(f"gaplab_torch: {message}", file=sys.stderr, flush=True)
        stream.emit("error", message=message)
        status = 1
    except Exception as e:  # anything unforeseen still ends the stream with an error event
        traceback.print_exc()
        stream.emit("error", message=f"{type(e).__name__}: {e}")
        status = 1
    finally:
        dist.stop()
    return status


def _convert(args):
    from .checkpoint import convert_open_clip_checkpoint
    count = convert_open_clip_checkpoint(args.checkpoint, args.out)
    print(f"wrote {count} tensors to {args.out}", file=sys.stderr)
    return 0


def _open_clip_train(arguments):
    import runpy
    from . import _openclip  # noqa: F401  (declares the torchvision op schemas before open_clip_train imports it)
    sys.argv = ["open_clip_train.main"] + arguments
    runpy.run_module("open_clip_train.main", run_name="__main__", alter_sys=True)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["open-clip-train"]:
        return _open_clip_train(argv[1:])
    parser = argparse.ArgumentParser(prog="python3 -m gaplab_torch",
                                     description="GapLab's PyTorch training engine (open_clip models).")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train", help="train one job",
        description="Train the job in JOB.json and report on stdout, one JSON event per line "
                    "(started, resumed, step, epoch_end, checkpoint, finished, killed, error). "
                    "With \"supervised\": true the run reads one line from stdin after each epoch_end "
                    "before it writes the checkpoint; SIGTERM stops after the current step with a checkpoint "
                    "and exit status 143. See python/README.md.")
    train.add_argument("--job", required=True, metavar="JOB.json", help="the job file (format gaplab-torch-job/1)")
    convert = commands.add_parser(
        "convert", help="an open_clip checkpoint (.pt) as safetensors",
        description="Write the weights of an open_clip checkpoint (a state dict, or open_clip_train's "
                    "{'state_dict': ...} with or without DDP's 'module.' prefix) as float32 safetensors with "
                    "open_clip's parameter names.")
    convert.add_argument("checkpoint", metavar="CHECKPOINT.pt")
    convert.add_argument("out", metavar="OUT.safetensors")
    commands.add_parser("open-clip-train", help="run open_clip_train.main with the arguments that follow",
                        add_help=False)
    args = parser.parse_args(argv)
    if args.command == "train":
        return _train(args)
    if args.command == "convert":
        return _convert(args)
    parser.error(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
