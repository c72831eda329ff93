"""GapLab's model, train and loss configurations as its Swift side encodes them, and the job file.

Keys and defaults mirror Sources/GapSpec/ModelConfig.swift and RunConfig.swift. Every problem is reported as
a `JobError` naming the JSON path at fault.
"""
import dataclasses
import json
import math
import os
import sys

JOB_FORMAT = "gaplab-torch-job/1"
CLIP_LOGIT_SCALE = 2.6592600369262695  # ln(1/0.07) as float32, as open_clip stores it


class JobError(ValueError):
    """A job or configuration that cannot be run; the message names the file and the key."""


def _warn(message):
    print(f"gaplab_torch: {message}", file=sys.stderr, flush=True)


class _Reader:
    """Reads typed values out of one JSON object, naming `path.key` in every error."""

    def __init__(self, obj, path, source):
        if not isinstance(obj, dict):
            raise JobError(f"{source}: {path or 'the job'} must be a JSON object, got {type(obj).__name__}")
        self.obj, self.path, self.source = obj, path, source
        self.used = set()

    def where(self, key):
        return f"{self.path}.{key}" if self.path else key

    def error(self, key, message):
        return JobError(f"{self.source}: {self.where(key)}: {message}")

    def _get(self, key, default, required):
        self.used.add(key)
        if self.obj.get(key) is None:
            if required:
                raise self.error(key, "missing (required)")
            return None, default
        return self.obj[key], None

    def int(self, key, default=None, required=False, minimum=None):
        value, fallback = self._get(key, default, required)
        if value is None:
            return fallback
        if isinstance(value, bool) or not (isinstance(value, int) or isinstance(value, float) and value.is_integer()):
            raise self.error(key, f"expected an integer, got {json.dumps(value)}")
        value = int(value)
        if minimum is not None and value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {value}")
        return value

    def float(self, key, default=None, required=False, minimum=None, positive=False, unit=False):
        value, fallback = self._get(key, default, required)
        if value is None:
            return fallback
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(key, f"expected a finite number, got {json.dumps(value)}")
        value = float(value)
        if minimum is not None and value < minimum:
            raise self.error(key, f"expected a number >= {minimum}, got {value}")
        if positive and value <= 0:
            raise self.error(key, f"expected a positive number, got {value}")
        if unit and not 0 <= value < 1:
            raise self.error(key, f"expected a number in [0, 1), got {value}")
        return value

    def bool(self, key, default=None, required=False):
        value, fallback = self._get(key, default, required)
        if value is None:
            return fallback
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {json.dumps(value)}")
        return value

    def str(self, key, default=None, required=False, choices=None):
        value, fallback = self._get(key, default, required)
        if value is None:
            return fallback
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {json.dumps(value)}")
        if choices is not None and value not in choices:
            raise self.error(key, f"expected one of {', '.join(json.dumps(c) for c in choices)}, got {json.dumps(value)}")
        return value

    def obj_(self, key, required=False):
        value, _ = self._get(key, {}, required)
        return _Reader({} if value is None else value, self.where(key), self.source)

    def ignore(self, *keys):
        """Keys GapLab writes that this engine has no use for."""
        self.used.update(keys)

    def warn_unknown(self):
        for key in sorted(set(self.obj) - self.used):
            _warn(f"{self.source}: {self.where(key)} is not a key this engine reads; ignored")


@dataclasses.dataclass(frozen=True)
class VisionConfig:
    image_size: int = 224
    patch_size: int = 16
    width: int = 768
    layers: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0

    @property
    def grid(self):
        return self.image_size // self.patch_size

    @property
    def tokens(self):
        return self.grid * self.grid + 1

    def open_clip_cfg(self):
        return {"image_size": self.image_size, "patch_size": self.patch_size, "width": self.width,
                "layers": self.layers, "head_width": self.width // self.heads, "mlp_ratio": self.mlp_ratio}


@dataclasses.dataclass(frozen=True)
class TextConfig:
    context_length: int = 77
    vocab_size: int = 49408
    width: int = 512
    heads: int = 8
    layers: int = 12
    mlp_ratio: float = 4.0

    def open_clip_cfg(self):
        return {"context_length": self.context_length, "vocab_size": self.vocab_size, "width": self.width,
                "heads": self.heads, "layers": self.layers, "mlp_ratio": self.mlp_ratio}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    embed_dim: int
    vision: VisionConfig
    text: TextConfig
    sharing_depth: int = 0
    sharing_head: bool = False
    init_logit_scale: float = CLIP_LOGIT_SCALE

    @property
    def is_two_tower(self):
        return self.sharing_depth == 0 and not self.sharing_head

    @property
    def is_fully_shared(self):
        return self.sharing_depth == self.vision.layers and self.sharing_head

    @property
    def naming(self):
        """ParameterLayout.Naming: "openCLIP", "alignCLIP" or "partial"."""
        if self.is_two_tower:
            return "openCLIP"
        if self.is_fully_shared and self.vision.layers == self.text.layers:
            return "alignCLIP"
        return "partial"

    def to_json(self):
        return {"embed_dim": self.embed_dim, "quick_gelu": False, "init_logit_scale": self.init_logit_scale,
                "vision_cfg": {"image_size": self.vision.image_size, "patch_size": self.vision.patch_size,
                               "width": self.vision.width, "layers": self.vision.layers, "heads": self.vision.heads,
                               "mlp_ratio": self.vision.mlp_ratio},
                "text_cfg": self.text.open_clip_cfg(),
                "sharing": {"depth": self.sharing_depth, "head": self.sharing_head}}


def parse_model_config(obj, path="model", source="model config"):
    """ModelConfig from GapLab's JSON (defaults and checks as ModelConfig.swift)."""
    r = _Reader(obj, path, source)
    embed_dim = r.int("embed_dim", required=True, minimum=1)
    if r.bool("quick_gelu", False):
        raise r.error("quick_gelu", "QuickGELU is not supported; GapLab uses exact (erf) GELU as open_clip does "
                                    "by default — set it to false")
    init_logit_scale = r.float("init_logit_scale", CLIP_LOGIT_SCALE)

    v = r.obj_("vision_cfg")
    d = VisionConfig()
    image_size = v.int("image_size", d.image_size, minimum=1)
    patch_size = v.int("patch_size", d.patch_size, minimum=1)
    width = v.int("width", d.width, minimum=1)
    layers = v.int("layers", d.layers, minimum=1)
    if "heads" in v.obj and v.obj["heads"] is not None:
        heads = v.int("heads", minimum=1)
        v.used.add("head_width")
    else:
        head_width = v.int("head_width", 64, minimum=1)
        heads = width // head_width
        if heads < 1 or width % head_width:
            raise v.error("head_width", f"width {width} must split evenly into heads of head_width {head_width}")
    if width % heads:
        raise v.error("heads", f"width {width} is not divisible by heads {heads}")
    if image_size % patch_size:
        raise v.error("patch_size", f"image_size {image_size} is not a multiple of patch_size {patch_size}")
    mlp_ratio = v.float("mlp_ratio", d.mlp_ratio, positive=True)
    vision = VisionConfig(image_size, patch_size, width, layers, heads, mlp_ratio)
    v.warn_unknown()

    t = r.obj_("text_cfg")
    d = TextConfig()
    text = TextConfig(context_length=t.int("context_length", d.context_length, minimum=1),
                      vocab_size=t.int("vocab_size", d.vocab_size, minimum=1),
                      width=t.int("width", d.width, minimum=1), heads=t.int("heads", d.heads, minimum=1),
                      layers=t.int("layers", d.layers, minimum=1),
                      mlp_ratio=t.float("mlp_ratio", d.mlp_ratio, positive=True))
    if text.width % text.heads:
        raise t.error("heads", f"width {text.width} is not divisible by heads {text.heads}")
    t.warn_unknown()

    s = r.obj_("sharing")
    depth = s.int("depth", 0, minimum=0)
    head = s.bool("head", False)
    s.warn_unknown()
    if depth > min(vision.layers, text.layers):
        raise s.error("depth", f"sharing.depth = {depth} exceeds the towers' layers (vision_cfg.layers = "
                               f"{vision.layers}, text_cfg.layers = {text.layers})")
    if (depth > 0 or head) and vision.width != text.width:
        raise r.error("sharing", f"sharing (depth {depth}, head {head}) needs equal widths, but vision_cfg.width = "
                                 f"{vision.width} and text_cfg.width = {text.width}")
    if depth > 0 and vision.heads != text.heads:
        raise s.error("depth", f"shared blocks need equal head counts, but vision has {vision.heads} and "
                               f"text_cfg.heads = {text.heads}")
    if depth > 0 and vision.mlp_ratio != text.mlp_ratio:
        raise s.error("depth", f"shared blocks need equal mlp_ratio, but vision_cfg.mlp_ratio = {vision.mlp_ratio} "
                               f"and text_cfg.mlp_ratio = {text.mlp_ratio}")
    r.warn_unknown()
    return ModelConfig(embed_dim, vision, text, depth, head, init_logit_scale)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 6
    batch_size: int = 128
    lr: float = 1e-3
    wd: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-6
    warmup: int = 100
    lr_scheduler: str = "cosine"
    grad_clip_norm: float = 0.0
    learn_logit_scale: bool = True


def parse_train_config(obj, path="train", source="train config"):
    r = _Reader(obj, path, source)
    d = TrainConfig()
    r.str("engine", "torch")  # the engine that runs the job: this one
    config = TrainConfig(
        epochs=r.int("epochs", d.epochs, minimum=1), batch_size=r.int("batch_size", d.batch_size, minimum=2),
        lr=r.float("lr", d.lr, positive=True), wd=r.float("wd", d.wd, minimum=0),
        beta1=r.float("beta1", d.beta1, unit=True), beta2=r.float("beta2", d.beta2, unit=True),
        eps=r.float("eps", d.eps, positive=True), warmup=r.int("warmup", d.warmup, minimum=0),
        lr_scheduler=r.str("lr_scheduler", d.lr_scheduler, choices=["cosine", "const"]),
        grad_clip_norm=r.float("grad_clip_norm", d.grad_clip_norm, minimum=0),
        learn_logit_scale=r.bool("learn_logit_scale", d.learn_logit_scale))
    r.str("precision", "fp32", choices=["fp32", "amp_bf16"])  # the job's top-level precision is the one used
    r.ignore("command", "command_metrics", "command_checkpoint")  # GapLab's command engine's settings
    r.warn_unknown()
    return config


@dataclasses.dataclass(frozen=True)
class LossConfig:
    clip_weight: float = 1.0
    cross_reduction: str = "sum"
    imsep_weight: float = 0.0
    imsep_modality: str = "image"
    imsep_rescale: str = "semantic"
    cyclip_lambda1: float = 0.0
    cyclip_lambda2: float = 0.0

    @property
    def needs_semantic_distance(self):
        return self.imsep_weight > 0 and self.imsep_rescale == "semantic"


def parse_loss_config(obj, path="loss", source="loss config"):
    r = _Reader(obj, path, source)
    d = LossConfig()
    config = LossConfig(
        clip_weight=r.float("clip_weight", d.clip_weight, minimum=0),
        cross_reduction=r.str("cross_reduction", d.cross_reduction, choices=["sum", "mean"]),
        imsep_weight=r.float("imsep_weight", d.imsep_weight, minimum=0),
        imsep_modality=r.str("imsep_modality", d.imsep_modality, choices=["image", "text", "both"]),
        imsep_rescale=r.str("imsep_rescale", d.imsep_rescale, choices=["semantic", "hollow"]),
        cyclip_lambda1=r.float("cyclip_lambda1", d.cyclip_lambda1, minimum=0),
        cyclip_lambda2=r.float("cyclip_lambda2", d.cyclip_lambda2, minimum=0))
    r.str("semantic_encoder")  # recorded by GapLab; the distances arrive with the batches
    r.warn_unknown()
    return config


@dataclasses.dataclass(frozen=True)
class BatchesConfig:
    dir: str
    batch_size: int
    image_size: int
    context_length: int
    distances: bool


@dataclasses.dataclass(frozen=True)
class Job:
    path: str
    model: ModelConfig
    train: TrainConfig
    loss: LossConfig
    seed: int
    steps_per_epoch: int
    batches: BatchesConfig
    initial_weights: str  # or None
    checkpoint: str  # or None
    output: str
    device: str
    precision: str
    threads: int
    supervised: bool
    grad_checkpointing: bool

    @property
    def total_steps(self):
        return self.steps_per_epoch * self.train.epochs


def load_job(path):
    """Reads and validates JOB.json; relative paths are taken from the job file's folder."""
    path = os.path.abspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except OSError as e:
        raise JobError(f"{path}: cannot read the job file: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise JobError(f"{path}: not valid JSON: {e}") from None
    return parse_job(obj, path)


def parse_job(obj, path):
    base = os.path.dirname(path)
    r = _Reader(obj, "", path)
    fmt = r.str("format", required=True)
    if fmt != JOB_FORMAT:
        raise r.error("format", f"expected {json.dumps(JOB_FORMAT)}, got {json.dumps(fmt)}")
    model = parse_model_config(r.obj_("model", required=True).obj, "model", path)
    train = parse_train_config(r.obj_("train", required=True).obj, "train", path)
    loss = parse_loss_config(r.obj_("loss", required=True).obj, "loss", path)
    seed = r.int("seed", required=True, minimum=0)
    steps_per_epoch = r.int("steps_per_epoch", required=True, minimum=1)

    def resolve(key, reader=r, required=False):
        value = reader.str(key, required=required)
        if value is None:
            return None
        if not value:
            raise reader.error(key, "expected a path, got an empty string")
        return os.path.normpath(os.path.join(base, value))

    b = r.obj_("batches", required=True)
    batches = BatchesConfig(dir=resolve("dir", b, required=True), batch_size=b.int("batch_size", required=True, minimum=2),
                            image_size=b.int("image_size", required=True, minimum=1),
                            context_length=b.int("context_length", required=True, minimum=1),
                            distances=b.bool("distances", required=True))
    for key, expected in [("steps_per_epoch", steps_per_epoch), ("epochs", train.epochs)]:
        given = b.int(key)
        if given is not None and given != expected:
            raise b.error(key, f"{given} differs from the job's {expected}")
    b.warn_unknown()
    if batches.batch_size != train.batch_size:
        raise b.error("batch_size", f"{batches.batch_size} differs from train.batch_size = {train.batch_size}")
    if batches.image_size != model.vision.image_size:
        raise b.error("image_size", f"{batches.image_size} differs from model.vision_cfg.image_size = "
                                    f"{model.vision.image_size}")
    if batches.context_length != model.text.context_length:
        raise b.error("context_length", f"{batches.context_length} differs from model.text_cfg.context_length = "
                                        f"{model.text.context_length}")
    if loss.needs_semantic_distance and not batches.distances:
        raise b.error("distances", "loss.imsep_weight > 0 with loss.imsep_rescale \"semantic\" needs the caption "
                                   "distance matrix in every batch record: set it to true")

    output = resolve("output", required=True)
    checkpoint = resolve("checkpoint")
    if checkpoint is not None and not checkpoint.endswith(".safetensors"):
        raise r.error("checkpoint", f"expected a path ending in .safetensors, got {json.dumps(obj['checkpoint'])}")
    job = Job(path=path, model=model, train=train, loss=loss, seed=seed, steps_per_epoch=steps_per_epoch,
              batches=batches, initial_weights=resolve("initial_weights"), checkpoint=checkpoint, output=output,
              device=r.str("device", "cpu", choices=["cpu", "cuda", "auto"]),
              precision=r.str("precision", "fp32", choices=["fp32", "amp_bf16"]),
              threads=r.int("threads", 1, minimum=1), supervised=r.bool("supervised", False),
              grad_checkpointing=r.bool("grad_checkpointing", False))
    r.warn_unknown()
    return job
