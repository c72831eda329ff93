"""The job runner end to end on tiny synthetic batches: the stream, checkpoints, resuming, SIGTERM."""
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from gaplab_torch.checkpoint import optimizer_state_path
from gaplab_torch.config import JobError, load_job
from gaplab_torch.train import KILLED_STATUS, StopSignal, Stream, SupervisorGone, TrainingError, run

from .helpers import set_determinism, write_job

PYTHON_ROOT = os.path.join(os.path.dirname(__file__), "..")


class RecordingStream(Stream):
    """Keeps the events; `stop_after(predicate)` requests a stop as SIGTERM would once an event matches."""

    def __init__(self, stop=None, stop_when=None):
        super().__init__(io.StringIO())
        self.stop, self.stop_when = stop, stop_when

    def emit(self, event, **fields):
        super().emit(event, **fields)
        if self.stop_when is not None and self.stop_when({"event": event, **fields}):
            self.stop.requested = True

    @property
    def events(self):
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


def train(job_path, stdin=None, stop_when=None):
    stop = StopSignal()
    stream = RecordingStream(stop, stop_when)
    status = run(load_job(job_path), stream, stdin or io.StringIO(), stop=stop)
    return status, stream.events


def final_weights(folder):
    return load_file(os.path.join(folder, "out", "final.safetensors"))


def assert_same_weights(test, a, b):
    test.assertEqual(sorted(a), sorted(b))
    for name in a:
        test.assertTrue(torch.equal(a[name], b[name]), f"{name} differs")


class TrainLoopTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        set_determinism()
        cls.tmp = tempfile.TemporaryDirectory()
        # One uninterrupted run every resume test compares with.
        cls.reference = os.path.join(cls.tmp.name, "reference")
        status, cls.reference_events = train(write_job(cls.reference))
        assert status == 0, cls.reference_events

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def folder(self, name):
        return os.path.join(self.tmp.name, name)

    def test_events_in_order(self):
        events = self.reference_events
        kinds = [e["event"] for e in events]
        self.assertEqual(kinds, ["started"] + ["step"] * 3 + ["epoch_end", "checkpoint"] + ["step"] * 3
                         + ["epoch_end", "checkpoint", "finished"])
        started = events[0]
        self.assertEqual((started["device"], started["torch"]), ("cpu", torch.__version__))
        self.assertGreater(started["parameters"], 0)
        steps = [e for e in events if e["event"] == "step"]
        self.assertEqual([s["step"] for s in steps], list(range(6)))
        self.assertEqual([s["epoch"] for s in steps], [0, 0, 0, 1, 1, 1])
        self.assertEqual({(s["steps_per_epoch"], s["total_steps"]) for s in steps}, {(3, 6)})
        self.assertEqual([s["lr"] for s in steps[:2]], [5e-4, 1e-3])
        for s in steps:
            self.assertEqual([name for name, _ in s["terms"]],
                             ["loss/cross", "loss/imsep", "loss/cyclip_inmodal", "loss/cyclip_crossmodal"])
            weighted = sum(w * value for w, (_, value) in zip([1.0, 0.5, 0.25, 0.25], s["terms"]))
            self.assertAlmostEqual(s["loss"], weighted, delta=1e-5 * abs(weighted))
            self.assertIsNotNone(s["grad_norm"])  # clipping is on
            self.assertLessEqual(s["logit_scale"], 4.6052)
        out = os.path.join(self.reference, "out")
        self.assertEqual(events[4], {"event": "epoch_end", "epoch": 1, "step": 3,
                                     "weights": os.path.join(out, "epoch-1.safetensors")})
        checkpoint = os.path.join(self.reference, "ckpt", "run.safetensors")
        self.assertEqual(events[5], {"event": "checkpoint", "path": checkpoint, "epoch": 1})
        self.assertEqual(events[-1], {"event": "finished", "weights": os.path.join(out, "final.safetensors"), "step": 6})
        with safe_open(checkpoint, "pt") as f:
            metadata = f.metadata()
        self.assertEqual((metadata["gaplab.step"], metadata["gaplab.epoch"], metadata["gaplab.optimizer_step"],
                          metadata["gaplab.seed"]), ("6", "2", "6", "0"))
        optim = load_file(optimizer_state_path(checkpoint))
        self.assertIn("exp_avg.shared.projection", optim)
        self.assertIn("exp_avg_sq.logit_scale", optim)

    def test_same_job_same_numbers(self):
        folder = self.folder("again")
        status, events = train(write_job(folder))
        self.assertEqual(status, 0)
        self.assertEqual([e["loss"] for e in events if e["event"] == "step"],
                         [e["loss"] for e in self.reference_events if e["event"] == "step"])
        assert_same_weights(self, final_weights(folder), final_weights(self.reference))

    def test_resume_after_an_epoch_gives_the_same_final_weights(self):
        folder = self.folder("resume-epoch")
        job = write_job(folder)
        status, events = train(job, stop_when=lambda e: e["event"] == "checkpoint" and e["epoch"] == 1)
        self.assertEqual(status, KILLED_STATUS)
        self.assertEqual(events[-1], {"event": "killed", "checkpoint": os.path.join(folder, "ckpt", "run.safetensors"),
                                      "step": 3})
        status, events = train(job)
        self.assertEqual(status, 0)
        self.assertEqual(events[1], {"event": "resumed", "epoch": 1, "step": 3})
        self.assertEqual([e["step"] for e in events if e["event"] == "step"], [3, 4, 5])
        self.assertEqual([e["loss"] for e in events if e["event"] == "step"],
                         [e["loss"] for e in self.reference_events if e["event"] == "step"][3:])
        assert_same_weights(self, final_weights(folder), final_weights(self.reference))

    def test_resume_inside_an_epoch_gives_the_same_final_weights(self):
        folder = self.folder("resume-mid")
        job = write_job(folder)
        status, events = train(job, stop_when=lambda e: e["event"] == "step" and e["step"] == 1)
        self.assertEqual(status, KILLED_STATUS)
        self.assertEqual(events[-1]["step"], 2)
        with safe_open(os.path.join(folder, "ckpt", "run.safetensors"), "pt") as f:
            self.assertEqual((f.metadata()["gaplab.step"], f.metadata()["gaplab.epoch"]), ("2", "0"))
        status, events = train(job)
        self.assertEqual(events[1], {"event": "resumed", "epoch": 0, "step": 2})
        self.assertEqual([e["step"] for e in events if e["event"] == "step"], [2, 3, 4, 5])
        assert_same_weights(self, final_weights(folder), final_weights(self.reference))

    def test_supervised_run_waits_for_each_epoch(self):
        folder = self.folder("supervised")
        job = write_job(folder, supervised=True)
        checkpoint = os.path.join(folder, "ckpt", "run.safetensors")
        seen = []

        class Supervisor(io.StringIO):
            def readline(self):
                # At each epoch end the checkpoint must not yet have moved past the epoch being evaluated.
                seen.append(os.path.exists(checkpoint))
                return "ok\n"

        status, events = train(job, stdin=Supervisor())
        self.assertEqual(status, 0)
        self.assertEqual(seen, [False, True])
        assert_same_weights(self, final_weights(folder), final_weights(self.reference))

    def test_supervisor_gone_stops_without_a_checkpoint(self):
        folder = self.folder("orphan")
        job = write_job(folder, supervised=True)
        with self.assertRaisesRegex(SupervisorGone, "closed stdin after epoch 1"):
            train(job, stdin=io.StringIO(""))
        self.assertTrue(os.path.exists(os.path.join(folder, "out", "epoch-1.safetensors")))
        self.assertFalse(os.path.exists(os.path.join(folder, "ckpt", "run.safetensors")))

    def test_initial_weights_and_a_non_finite_loss(self):
        folder = self.folder("nan")
        weights = load_file(os.path.join(self.reference, "out", "epoch-1.safetensors"))
        weights["logit_scale"] = torch.tensor(float("nan"))
        os.makedirs(folder, exist_ok=True)
        save_file(weights, os.path.join(folder, "start.safetensors"))
        job = write_job(folder, initial_weights="start.safetensors")
        with self.assertRaisesRegex(TrainingError, r"training stopped at step 0: the loss \(nan\) is not finite"):
            train(job)

    def test_frozen_logit_scale_stays_put(self):
        folder = self.folder("frozen")
        job = write_job(folder, epochs=1, loss={"clip_weight": 1.0, "cross_reduction": "mean"})
        with open(job) as f:
            obj = json.load(f)
        obj["train"]["learn_logit_scale"] = False
        obj["model"]["init_logit_scale"] = 4.0
        with open(job, "w") as f:
            json.dump(obj, f)
        status, events = train(job)
        self.assertEqual(status, 0)
        self.assertEqual({e["logit_scale"] for e in events if e["event"] == "step"},
                         {torch.tensor(4.0).item()})
        self.assertEqual([[n for n, _ in e["terms"]] for e in events if e["event"] == "step"], [["loss/cross"]] * 3)


class JobValidationTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.fresh_job("job")

    def tearDown(self):
        self.tmp.cleanup()

    def fresh_job(self, name):
        self.job = write_job(os.path.join(self.tmp.name, name), epochs=1)

    def edit(self, change):
        with open(self.job) as f:
            obj = json.load(f)
        change(obj)
        with open(self.job, "w") as f:
            json.dump(obj, f)

    def test_errors_name_the_key(self):
        cases = [
            (lambda o: o.pop("steps_per_epoch"), r"steps_per_epoch: missing"),
            (lambda o: o.update(format="other/1"), r"format: expected \"gaplab-torch-job/1\""),
            (lambda o: o["train"].update(batch_size=8), r"batches\.batch_size: 4 differs from train\.batch_size = 8"),
            (lambda o: o["loss"].update(imsep_modality="audio"), r"loss\.imsep_modality: expected one of"),
            (lambda o: o["batches"].update(distances=False), r"batches\.distances: .*semantic"),
            (lambda o: o["model"]["sharing"].update(depth=3), r"model\.sharing\.depth: sharing\.depth = 3 exceeds"),
            (lambda o: o["model"].update(quick_gelu=True), r"model\.quick_gelu: QuickGELU is not supported"),
            (lambda o: o["train"].update(lr="fast"), r"train\.lr: expected a finite number"),
            (lambda o: o.update(device="tpu"), r"device: expected one of"),
        ]
        for i, (change, message) in enumerate(cases):
            with self.subTest(message=message):
                self.fresh_job(f"case-{i}")
                self.edit(change)
                with self.assertRaisesRegex(JobError, message):
                    load_job(self.job)

    def test_a_batch_file_of_the_wrong_size(self):
        path = os.path.join(os.path.dirname(self.job), "batches", "epoch-0000.bin")
        with open(path, "ab") as f:
            f.write(b"\0" * 4)
        with self.assertRaisesRegex(ValueError, r"epoch-0000\.bin: \d+ bytes, expected \d+"):
            run(load_job(self.job), Stream(io.StringIO()), io.StringIO())

    def test_amp_needs_cuda(self):
        self.edit(lambda o: o.update(precision="amp_bf16"))
        with self.assertRaisesRegex(JobError, r"amp_bf16.*CUDA"):
            run(load_job(self.job), Stream(io.StringIO()), io.StringIO())


class StreamTests(unittest.TestCase):
    def test_lines_are_json_with_non_finite_numbers_as_null(self):
        stream = Stream(io.StringIO())
        stream.emit("step", loss=1.5, grad_norm=float("inf"), terms=[["loss/cross", float("nan")]])
        self.assertEqual(json.loads(stream.out.getvalue()),
                         {"event": "step", "loss": 1.5, "grad_norm": None, "terms": [["loss/cross", None]]})

    def test_a_closed_stream_stops_the_run(self):
        out = io.StringIO()
        out.close()
        with self.assertRaisesRegex(SupervisorGone, "stdout closed"):
            Stream(out).emit("started")


class CommandLineTests(unittest.TestCase):
    """The module as GapLab starts it: a subprocess whose stdout is the stream."""

    def test_sigterm_stops_with_a_resumable_checkpoint(self):
        set_determinism()
        with tempfile.TemporaryDirectory() as tmp:
            killed_dir, whole_dir = os.path.join(tmp, "killed"), os.path.join(tmp, "whole")
            job = write_job(killed_dir, epochs=3, steps=8)
            env = dict(os.environ, PYTHONPATH=os.path.abspath(PYTHON_ROOT))
            process = subprocess.Popen([sys.executable, "-m", "gaplab_torch", "train", "--job", job],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                       env=env, text=True)
            lines = []
            for line in process.stdout:
                lines.append(json.loads(line))  # every stdout line is one JSON object
                if lines[-1]["event"] == "step" and lines[-1]["step"] == 1:
                    process.send_signal(signal.SIGTERM)
            process.stdout.close()
            status = process.wait()
            self.assertEqual(status, KILLED_STATUS)
            killed = lines[-1]
            self.assertEqual(killed["event"], "killed")
            self.assertEqual(killed["step"], lines[-2]["step"] + 1)
            self.assertLess(killed["step"], 24)
            with safe_open(killed["checkpoint"], "pt") as f:
                self.assertEqual(f.metadata()["gaplab.step"], str(killed["step"]))

            status, events = train(job)
            self.assertEqual(status, 0)
            self.assertEqual(events[1], {"event": "resumed", "epoch": killed["step"] // 8, "step": killed["step"]})
            status, _ = train(write_job(whole_dir, epochs=3, steps=8))
            self.assertEqual(status, 0)
            assert_same_weights(self, final_weights(killed_dir), final_weights(whole_dir))

    def test_sigterm_while_the_supervisor_evaluates(self):
        # The epoch's steps are done but the supervisor has not answered: the checkpoint keeps the epoch open,
        # and the resumed run ends it again (weights, epoch_end, wait) before moving on.
        with tempfile.TemporaryDirectory() as tmp:
            job = write_job(tmp, epochs=2, steps=2, supervised=True)
            env = dict(os.environ, PYTHONPATH=os.path.abspath(PYTHON_ROOT))
            process = subprocess.Popen([sys.executable, "-m", "gaplab_torch", "train", "--job", job],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.PIPE,
                                       env=env, text=True)
            lines = []
            for line in process.stdout:
                lines.append(json.loads(line))
                if lines[-1]["event"] == "epoch_end":
                    process.send_signal(signal.SIGTERM)
            process.stdout.close()
            process.stdin.close()
            self.assertEqual(process.wait(), KILLED_STATUS)
            self.assertEqual([e["event"] for e in lines[-2:]], ["epoch_end", "killed"])
            self.assertEqual(lines[-1]["step"], 2)
            with safe_open(lines[-1]["checkpoint"], "pt") as f:
                self.assertEqual((f.metadata()["gaplab.step"], f.metadata()["gaplab.epoch"]), ("2", "0"))

            status, events = train(job, stdin=io.StringIO("ok\nok\n"))
            self.assertEqual(status, 0)
            self.assertEqual([e["event"] for e in events],
                             ["started", "resumed", "epoch_end", "checkpoint", "step", "step", "epoch_end",
                              "checkpoint", "finished"])
            self.assertEqual(events[2]["epoch"], 1)

    def test_two_processes_under_torchrun_train_as_one(self):
        # CPU processes with the gloo backend: each trains on half of every batch, the loss sees the global
        # batch through open_clip's gather_features, and DDP averages the gradients.
        set_determinism()
        with tempfile.TemporaryDirectory() as tmp:
            ddp_dir, single_dir = os.path.join(tmp, "ddp"), os.path.join(tmp, "single")
            job = write_job(ddp_dir)
            env = dict(os.environ, PYTHONPATH=os.path.abspath(PYTHON_ROOT), OMP_NUM_THREADS="1")
            result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                     "--nproc_per_node=2", "-m", "gaplab_torch", "train", "--job", job],
                                    env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
            self.assertEqual(result.returncode, 0, result.stderr[-2000:])
            events = [json.loads(line) for line in result.stdout.splitlines()]
            self.assertEqual([e["event"] for e in events].count("started"), 1)  # one stream, from rank 0
            status, single = train(write_job(single_dir))
            self.assertEqual(status, 0)
            ddp_losses = [e["loss"] for e in events if e["event"] == "step"]
            single_losses = [e["loss"] for e in single if e["event"] == "step"]
            self.assertEqual(len(ddp_losses), len(single_losses))
            for a, b in zip(ddp_losses, single_losses):
                self.assertAlmostEqual(a, b, delta=1e-5 * abs(b))
            a, b = final_weights(ddp_dir), final_weights(single_dir)
            self.assertEqual(sorted(a), sorted(b))
            for name in a:
                torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")

    def test_errors_end_the_stream_and_exit_1(self):
        with tempfile.TemporaryDirectory() as tmp:
            job = write_job(tmp, epochs=1)
            with open(job) as f:
                obj = json.load(f)
            obj["seed"] = -1
            with open(job, "w") as f:
                json.dump(obj, f)
            env = dict(os.environ, PYTHONPATH=os.path.abspath(PYTHON_ROOT))
            result = subprocess.run([sys.executable, "-m", "gaplab_torch", "train", "--job", job], env=env,
                                    capture_output=True, text=True, stdin=subprocess.DEVNULL)
            self.assertEqual(result.returncode, 1)
            events = [json.loads(line) for line in result.stdout.splitlines()]
            self.assertEqual(len(events), 1)
            self.assertEqual(events[0]["event"], "error")
            self.assertRegex(events[0]["message"], r"seed: expected an integer >= 0")


if __name__ == "__main__":
    unittest.main()
