"""Where things are: one object passed around instead of module globals."""
import os
from dataclasses import dataclass

TRAIN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TRAIN)
DATA = os.path.join(ROOT, "..", "shared", "data")
WEIGHTS = os.path.join(ROOT, "weights", "vaec-hyperprior.safetensors")
REFERENCE_IMAGE = os.path.join(ROOT, "tests", "data_crop.png")


@dataclass
class Paths:
    """A training run's files: checkpoints in `runs`, one CSV row per logged step in `log`."""
    runs: str = os.path.join(TRAIN, "runs")
    log: str = os.path.join(TRAIN, "log.csv")

    @classmethod
    def in_workdir(cls, workdir):
        if not workdir:
            return cls()
        return cls(os.path.join(workdir, "runs"), os.path.join(workdir, "log.csv"))

    @property
    def last(self):
        return os.path.join(self.runs, "last.pt")
