"""GapLab's PyTorch training engine: open_clip models trained exactly as GapLab's Swift engine.

`python3 -m gaplab_torch train --job JOB.json` runs one job; see python/README.md for the job file and the
event stream.
"""
__version__ = "0.1.0"
