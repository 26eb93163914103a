"""``gp-spec train``: command-line front door of :func:`gp_spec.harness.train.train`.

``gp_spec/cli.py`` routes ``gp-spec train`` to :func:`configure` and :func:`run`; the module also
runs on its own: ``python -m gp_spec.harness.cli --dataset 8gaussians --objective wasserstein
--penalty wgan-lp --weight 5 --steps 300 --seed 0 --out runs/demo``.

Every option defaults to "not given": the configuration is the preset (or
:class:`~gp_spec.harness.config.TrainConfig`'s defaults) with the given options applied; with
``--resume`` it is the run's saved ``config.json`` with the given options applied, and only
``--steps``, ``--device``, ``--log-every``, ``--checkpoint-every``, ``--plot-every`` may differ.
Bad input prints ``gp-spec train: error: ...`` and returns exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gp_spec.errors import GPSpecError
from gp_spec.harness.config import PRESETS, TrainConfig, get_preset
from gp_spec.harness.data import DATASETS
from gp_spec.harness.errors import ConfigError

__all__ = ["config_from_args", "configure", "main", "run"]

_EXIT_USAGE = 2


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: should be comma-separated integers, "
                                         "e.g. 512,512,512") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: should list widths >= 1")
    return widths


def _betas(text: str) -> tuple[float, float]:
    try:
        b1, b2 = (float(b) for b in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: should be two numbers, e.g. 0.5,0.9") \
            from None
    return b1, b2


def metrics_help() -> str:
    """The metric definitions of :data:`gp_spec.harness.evaluation.METRIC_DEFINITIONS`, as
    ``--help`` prints them after the options."""
    import textwrap

    from gp_spec.harness.evaluation import METRIC_DEFINITIONS

    lines = ["metrics (metrics.jsonl every --log-every steps; summary.json 'final'):"]
    for key, text in METRIC_DEFINITIONS.items():
        lines += textwrap.wrap(f"{key}: {text}", width=88, initial_indent="  ",
                               subsequent_indent="      ", break_on_hyphens=False)
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` options to ``parser``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = metrics_help()
    g = parser.add_argument_group("run")
    g.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="folder for metrics.jsonl, checkpoint.pt, config.json and PNG plots")
    g.add_argument("--resume", action="store_true",
                   help="continue the run in DIR from its checkpoint up to --steps")
    g.add_argument("--preset", choices=sorted(PRESETS), help="start from a paper configuration")
    g.add_argument("--steps", type=int, help="total generator steps (outer iterations)")
    g.add_argument("--seed", type=int)
    g.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    g.add_argument("--amp", action="store_true", default=None, help="bf16 autocast (cuda only)")
    g.add_argument("--quiet", action="store_true", help="no progress lines")
    g.add_argument("--no-plots", action="store_true", help="skip the PNGs at the end")
    g.add_argument("--threads", type=int,
                   help="torch CPU threads for this process (torch.set_num_threads)")
    g = parser.add_argument_group("problem")
    g.add_argument("--dataset", help=f"{', '.join(DATASETS)}, a .npy file or an image folder")
    g.add_argument("--scale", type=float, help="scale of the toy mixtures (004 uses 10)")
    g.add_argument("--mode-std", type=float,
                   help="component std of 8gaussians/25gaussians (default: scales with --scale; "
                        "004's code: 0.014)")
    g.add_argument("--pool-size", type=int, help="train on a finite set of this many samples")
    g.add_argument("--image-size", type=int, help="resize an image folder to this side")
    g.add_argument("--objective", help="wasserstein, minimax, non_saturating, hinge, "
                                       "least_squares, lipschitz:<phi>")
    g.add_argument("--penalty", help="none, clip, or a gp_spec.SPECS name (wgan-gp, wgan-lp, ...)")
    g.add_argument("--weight", type=float, help="penalty weight (default: the spec's)")
    g.add_argument("--penalty-on", choices=("score", "probability"),
                   help="penalise grad f (score, default) or grad sigmoid(f) (probability, "
                        "004's D; minimax/non_saturating only)")
    g.add_argument("--clip", type=float, help="weight-clipping bound c (with --penalty clip)")
    g.add_argument("--critic-only", action="store_true", default=None,
                   help="train the critic against the data set's fixed reference distribution")
    g = parser.add_argument_group("networks")
    g.add_argument("--arch", choices=("mlp", "dcgan", "resnet"))
    g.add_argument("--hidden", type=_widths, help="MLP widths of both networks, e.g. 512,512,512")
    g.add_argument("--critic-hidden", type=_widths)
    g.add_argument("--generator-hidden", type=_widths)
    g.add_argument("--width", type=int, help="base channels of the image models")
    g.add_argument("--latent-dim", type=int)
    g = parser.add_argument_group("optimisation")
    g.add_argument("--batch", type=int, help="global batch size")
    g.add_argument("--critic-steps", type=int, help="critic updates per generator step")
    g.add_argument("--warmup-critic-steps", type=int,
                   help="critic updates during the warm-up (003 §6: 100)")
    g.add_argument("--warmup-generator-steps", type=int,
                   help="length of the warm-up in generator steps (003 §6: 25)")
    g.add_argument("--optimizer", choices=("adam", "rmsprop", "sgd"))
    g.add_argument("--lr", type=float, help="learning rate of both networks")
    g.add_argument("--lr-critic", type=float, help="critic learning rate (TTUR)")
    g.add_argument("--lr-generator", type=float, help="generator learning rate (TTUR)")
    g.add_argument("--betas", type=_betas, help="Adam betas, e.g. 0.5,0.9")
    g.add_argument("--momentum", type=float)
    g = parser.add_argument_group("logging")
    g.add_argument("--log-every", type=int)
    g.add_argument("--checkpoint-every", type=int)
    g.add_argument("--plot-every", type=int, help="also plot every K steps into DIR/plots")
    g.add_argument("--eval-samples", type=int, help="samples per metric evaluation (500)")


_DIRECT = {
    "dataset": "dataset", "scale": "scale", "mode_std": "mode_std", "pool_size": "pool_size",
    "image_size": "image_size",
    "objective": "objective", "penalty": "penalty", "weight": "weight", "clip": "clip",
    "penalty_on": "penalty_on",
    "critic_only": "critic_only", "arch": "architecture", "critic_hidden": "critic_hidden",
    "generator_hidden": "generator_hidden", "width": "width", "latent_dim": "latent_dim",
    "steps": "steps", "batch": "batch_size", "critic_steps": "critic_steps",
    "warmup_critic_steps": "warmup_critic_steps",
    "warmup_generator_steps": "warmup_generator_steps", "optimizer": "optimizer",
    "lr_critic": "lr_critic", "lr_generator": "lr_generator", "betas": "betas",
    "momentum": "momentum", "seed": "seed", "device": "device", "amp": "amp",
    "log_every": "log_every", "checkpoint_every": "checkpoint_every",
    "plot_every": "plot_every", "eval_samples": "eval_samples",
}


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if getattr(args, "hidden", None) is not None:
        changes["critic_hidden"] = changes["generator_hidden"] = args.hidden
    if getattr(args, "lr", None) is not None:
        changes["lr_critic"] = changes["lr_generator"] = args.lr
    for arg, name in _DIRECT.items():
        value = getattr(args, arg, None)
        if value is not None:
            changes[name] = value
    return changes


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` the parsed options describe (see the module docstring)."""
    saved = Path(args.out) / "config.json"
    if args.resume and saved.exists():
        if args.preset is not None:
            raise ConfigError(f"--preset with --resume: the run's {saved} already fixes the "
                              "configuration; drop --preset")
        try:
            base = TrainConfig.from_dict(json.loads(saved.read_text()))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfigError(f"{saved}: cannot be read ({exc})") from exc
    elif args.preset is not None:
        base = get_preset(args.preset).config
    else:
        base = TrainConfig()
    return base.replace(**_overrides(args))


def run(args: argparse.Namespace) -> int:
    """Run ``train`` for parsed ``args``; 0 on success, 2 on bad input (message on stderr)."""
    from gp_spec.harness.train import train

    threads = getattr(args, "threads", None)
    if threads is not None:
        if threads < 1:
            print(f"gp-spec train: error: --threads {threads}, but should be >= 1",
                  file=sys.stderr)
            return _EXIT_USAGE
        import torch

        torch.set_num_threads(threads)
    try:
        config = config_from_args(args)
        result = train(config, args.out, resume=args.resume,
                       progress=None if args.quiet else sys.stderr,
                       plots_at_end=not args.no_plots)
    except GPSpecError as exc:
        print(f"gp-spec train: error: {exc}", file=sys.stderr)
        return _EXIT_USAGE
    if result.out_dir is not None and result.is_main:
        shown = {k: round(v, 5) for k, v in result.final.items()}
        print(f"gp-spec train: {result.step} generator steps, {result.critic_updates} critic "
              f"updates, {result.elapsed_s:.1f} s; files in {result.out_dir}; final {shown}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gp_spec.harness.cli ...``."""
    parser = argparse.ArgumentParser(prog="gp-spec train",
                                     description="Train a GAN with a gp_spec penalty.")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
