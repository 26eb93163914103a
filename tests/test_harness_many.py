"""gp_spec.harness.many: runs trained together equal the single-run trainer's runs.

Tolerance, and why: the stacked networks compute ``h W^T + b`` with one batched matmul per
layer, which may add the fan-in products in another order than the single run's ``addmm``
(on the CPU they agree bit for bit except in the critic's 1-unit output layer), so float32
rounding differs by ~1e-7 relative per forward pass. How far that travels depends on the
optimiser:

- **SGD** is linear in the gradient: differences stay at rounding size. Every metric must agree
  to ``|a - b| <= 1e-6 + 1e-5 |a|`` and every parameter to ``1e-6`` (measured over these runs:
  parameters 6e-8, W1 5e-9 relative, losses <= 3e-6 relative). This is the tight test of the
  plumbing: random streams, measures, terms, weights, schedule, evaluation.
- **Adam and RMSprop** divide by ``sqrt(v)``: for a gradient element near 0 a rounding-size
  difference can flip the sign of a whole update of size ~lr, so two correct trainers may
  differ per parameter by ``2 * (max update / lr) * lr * updates`` (Adam with betas (0.5, 0.9):
  ``max update = lr (1 - beta1) / sqrt(1 - beta2) = 1.58 lr``; RMSprop with alpha 0.99:
  ``lr / sqrt(1 - alpha) = 10 lr``). Metrics are then checked to ``1e-4 + 1e-2 |a|``
  (measured: generator loss 4e-3 relative, W1 1e-9).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from gp_spec.harness import TrainConfig, train
from gp_spec.harness.checkpoint import load_checkpoint
from gp_spec.harness.errors import ConfigError
from gp_spec.harness.many import group_key, plan_groups, train_all, train_many

TINY = TrainConfig(
    dataset="8gaussians", critic_hidden=(16, 16), generator_hidden=(16, 16), batch_size=32,
    critic_steps=2, warmup_critic_steps=3, warmup_generator_steps=1, steps=6, log_every=2,
    checkpoint_every=3, eval_samples=48, penalty="wgan-lp", weight=5.0, device="cpu",
)
TIGHT = (1e-5, 1e-6)  # (rtol, atol) for metrics with SGD
COARSE = (1e-2, 1e-4)  # with Adam / RMSprop (module docstring)
ADAM_STEP = 0.5 / math.sqrt(1 - 0.9)  # max |update| / lr for betas (0.5, 0.9)
RMSPROP_STEP = 1 / math.sqrt(1 - 0.99)  # max |update| / lr for alpha 0.99


def _group() -> list[TrainConfig]:
    """Seeds, weights, terms and measures, and a second data set of the same shape."""
    cfgs = [TINY.replace(seed=s, weight=w, penalty=p) for s in (0, 1) for w in (1.0, 10.0)
            for p in ("wgan-lp", "wgan-gp")]
    cfgs.append(TINY.replace(seed=3, penalty="sgp-anchor", dataset="25gaussians", weight=0.05))
    cfgs.append(TINY.replace(seed=4, penalty="r1", weight=2.0))
    return cfgs


def _assert_equal_runs(single: Any, many: Any, tol: tuple[float, float], bound: float
                       ) -> None:
    rtol, atol = tol
    assert len(single.history) == len(many.history) > 0
    for a, b in zip(single.history, many.history, strict=True):
        assert set(a) == set(b)
        for key, va in a.items():
            if key == "elapsed_s" or va is None:
                continue
            assert b[key] == pytest.approx(va, rel=rtol, abs=atol), (key, a["step"])
    for key, va in single.final.items():
        assert many.final[key] == pytest.approx(va, rel=rtol, abs=atol), key
    nets = [(single.critic, many.critic)]
    if single.generator is not None:
        nets.append((single.generator, many.generator))
    for net_a, net_b in nets:
        for pa, pb in zip(net_a.parameters(), net_b.parameters(), strict=True):
            assert float((pa - pb).abs().max()) <= bound


def test_runs_trained_together_equal_single_runs_with_sgd() -> None:
    cfgs = [c.replace(optimizer="sgd", lr_critic=1e-2, lr_generator=1e-2) for c in _group()]
    single = [train(c, None, progress=None) for c in cfgs]
    many = train_many(cfgs, None, progress=None)
    for s, m in zip(single, many, strict=True):
        assert m.step == s.step == 6 and m.critic_updates == s.critic_updates == 3 + 5 * 2
        _assert_equal_runs(s, m, TIGHT, 1e-6)


@pytest.mark.parametrize(("optimizer", "max_step"), [("adam", ADAM_STEP),
                                                     ("rmsprop", RMSPROP_STEP)])
def test_adaptive_optimisers_agree_within_their_update_bound(optimizer: str,
                                                             max_step: float) -> None:
    cfgs = [c.replace(optimizer=optimizer) for c in _group()[::2]]
    single = [train(c, None, progress=None) for c in cfgs]
    many = train_many(cfgs, None, progress=None)
    for s, m in zip(single, many, strict=True):
        _assert_equal_runs(s, m, COARSE, 2 * max_step * 1e-4 * s.critic_updates)


def test_critic_only_runs_and_clipping() -> None:
    base = TINY.replace(dataset="1d-pair", critic_only=True, optimizer="sgd", lr_critic=1e-2)
    for cfgs in ([base.replace(seed=s, weight=w) for s in (0, 1) for w in (10.0, 100.0)],
                 [TINY.replace(penalty="clip", seed=s, optimizer="sgd", lr_critic=1e-2,
                               lr_generator=1e-2) for s in (0, 1)]):
        single = [train(c, None, progress=None) for c in cfgs]
        many = train_many(cfgs, None, progress=None)
        for s, m in zip(single, many, strict=True):
            _assert_equal_runs(s, m, TIGHT, 1e-6)


def test_files_and_resume_are_per_run(tmp_path: Path) -> None:
    # a group stopped at step 3 and resumed by the SINGLE trainer (and the other run by the
    # group) continues each run as an uninterrupted single run does.
    cfgs = [TINY.replace(seed=0), TINY.replace(seed=1, penalty="wgan-gp", weight=10.0)]
    dirs = [tmp_path / "a", tmp_path / "b"]
    train_many([c.replace(steps=3) for c in cfgs], dirs, progress=None, plots_at_end=False)
    for d in dirs:
        assert load_checkpoint(d / "checkpoint.pt")["step"] == 3
        assert len((d / "metrics.jsonl").read_text().splitlines()) == 1
    resumed_single = train(cfgs[0], dirs[0], resume=True, progress=None, plots_at_end=False)
    resumed_many = train_many(cfgs[1:], dirs[1:], resume=True, progress=None,
                              plots_at_end=False)[0]
    assert resumed_single.resumed_from == resumed_many.resumed_from == 3
    whole = [train(c, tmp_path / f"whole{i}", progress=None, plots_at_end=False)
             for i, c in enumerate(cfgs)]
    for w, d in zip(whole, dirs, strict=True):
        lines = [line for line in (d / "metrics.jsonl").read_text().splitlines() if line]
        assert len(lines) == 3  # steps 2, 4, 6: nothing duplicated or lost
        a, b = load_checkpoint(w.out_dir / "checkpoint.pt"), load_checkpoint(d / "checkpoint.pt")
        assert a["step"] == b["step"] == 6 and a["critic_updates"] == b["critic_updates"]
        for key in ("data", "noise", "penalty"):
            assert torch.equal(a["per_rank"][0][key], b["per_rank"][0][key])
        for name, t in a["critic"].items():
            assert float((t - b["critic"][name]).abs().max()) <= 2 * ADAM_STEP * 1e-4 * 13
        assert set(a["opt_critic"]["state"]) == set(b["opt_critic"]["state"])


def test_grouping_and_refusals() -> None:
    cfgs = [TINY, TINY.replace(seed=1), TINY.replace(critic_hidden=(8, 8)),
            TINY.replace(dataset="swissroll")]
    assert group_key(cfgs[0]) == group_key(cfgs[1]) == group_key(cfgs[3])
    assert plan_groups(cfgs) == [[0, 1, 3], [2]]
    assert plan_groups(cfgs, max_members=2) == [[0, 1], [3], [2]]
    with pytest.raises(ConfigError, match="critic_hidden"):
        train_many(cfgs[:3], None, progress=None)
    with pytest.raises(ConfigError, match="gradient penalties"):
        train_many([TINY.replace(penalty="lp-quotient")], None, progress=None)
    with pytest.raises(ConfigError, match="stacks MLPs only"):
        train_many([TINY.replace(dataset="digits", architecture="dcgan")], None, progress=None)
    with pytest.raises(ConfigError, match="penalty family"):
        train_many([TINY, TINY.replace(penalty="none")], None, progress=None)


def test_train_all_returns_results_in_order() -> None:
    cfgs = [TINY.replace(steps=2, seed=0), TINY.replace(steps=2, critic_hidden=(8, 8)),
            TINY.replace(steps=2, seed=2)]
    got = train_all(cfgs, None, progress=None)
    assert [r.config for r in got] == cfgs


def test_evaluations_in_threads_give_the_same_records(tmp_path: Path) -> None:
    # eval_workers > 1 evaluates a log step while training goes on: same records, same files
    cfgs = [TINY.replace(seed=s, checkpoint_every=2) for s in (0, 1, 2)]
    one = train_many(cfgs, [tmp_path / f"a{i}" for i in range(3)], progress=None,
                     plots_at_end=False)
    three = train_many(cfgs, [tmp_path / f"b{i}" for i in range(3)], progress=None,
                       plots_at_end=False, eval_workers=3)
    for i, (a, b) in enumerate(zip(one, three, strict=True)):
        strip = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in a.history]
        assert strip == [{k: v for k, v in r.items() if k != "elapsed_s"} for r in b.history]
        lines_a = (tmp_path / f"a{i}" / "metrics.jsonl").read_text().splitlines()
        lines_b = (tmp_path / f"b{i}" / "metrics.jsonl").read_text().splitlines()
        assert len(lines_a) == len(lines_b) == 3
