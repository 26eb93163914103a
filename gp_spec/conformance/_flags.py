"""One table of the conformance options for the command line and the pytest plugin.

Plain data with no heavy import: the pytest plugin registers its options from it without
importing torch (a plain pytest run in an environment with gp-spec installed stays fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_TIMEOUT", "FLAGS", "Flag"]

DEFAULT_TIMEOUT = 60.0
"""Seconds one check may take before the implementation is declared hanging."""


@dataclass(frozen=True)
class Flag:
    """One option as a command-line flag and a pytest option."""

    name: str  # the Options field
    flag: str  # --event-shape (CLI); the pytest option is --gp-<flag without -->
    help: str
    metavar: str | None = None
    kind: Literal["str", "float", "int", "bool"] = "str"
    choices: tuple[str, ...] | None = None


FLAGS: tuple[Flag, ...] = (
    Flag("weight", "--weight", "the implementation's weight (default: the spec's)", "W",
         "float"),
    Flag("adapter", "--adapter", "calling convention: canonical | real-fake-critic | "
         "with-device | keywords | pred-input | conditional | method:NAME (see "
         "gp_spec.conformance.adapters)", "NAME"),
    Flag("event_shape", "--event-shape", "the input domain's event shape, e.g. 3,32,32 "
         "(default: detected)", "C,H,W"),
    Flag("batch_size", "--batch-size", "a batch size the implementation hard-codes "
         "(default: checks vary N)", "N", "int"),
    Flag("critic_output", "--critic-output", "the critic's output shape the implementation "
         "expects: (N,) or (N, 1) (default: auto)", None, "str", ("auto", "n", "n1")),
    Flag("num_classes", "--num-classes", "conditional critics D(x, y): number of classes of "
         "the labels passed to the implementation", "K", "int"),
    Flag("strict", "--strict", "warnings fail the report", None, "bool"),
    Flag("device", "--device", "device of the checks' tensors (default: cpu)", "DEV"),
    Flag("seed", "--seed", "seed of every random input (default: 0)", "S", "int"),
    Flag("timeout", "--timeout", f"seconds per check (default: {DEFAULT_TIMEOUT:g}; inf: no "
         "limit)", "SECONDS", "float"),
)


