"""Conformance of real code as it is written (issue 13; SPEC §6).

Each test writes a penalty the way public code does (images only, a critic returning
``(N, 1)``, a hard-coded batch size, an R1 in ``(real_pred, real_img)`` form, a dict critic
with labels, ...) and requires ``check(fn, spec, weight=w)`` with default options to judge it
right, say which domain and calling convention it used, and lead with one cause when many
checks fail for one reason.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from gp_spec.conformance import check
from gp_spec.errors import AdapterError


def _penalty(critic: Any, x_hat: Tensor, weight: float = 10.0, *,
             grad_outputs: Tensor | None = None, eps: float = 0.0) -> Tensor:
    x = x_hat.detach().requires_grad_(True)
    out = critic(x)
    ones = torch.ones_like(out) if grad_outputs is None else grad_outputs
    (g,) = torch.autograd.grad(out, x, grad_outputs=ones, create_graph=True)
    flat = g.flatten(1)
    norm = torch.sqrt(flat.square().sum(1) + eps) if eps else flat.norm(dim=1)
    return weight * ((norm - 1) ** 2).mean()


# -- the input domain --------------------------------------------------------------------

def images_only(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    b, _c, _h, _w = real.shape  # unpacking fails on vectors
    alpha = torch.rand(b, 1, 1, 1, dtype=real.dtype)
    return _penalty(D, alpha * real + (1 - alpha) * fake,
                    grad_outputs=torch.ones(b, 1, dtype=real.dtype))


def broadcasts_on_vectors(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    alpha = torch.rand(real.size(0), 1, 1, 1, dtype=real.dtype)  # (N,1,1,1) x (N,d): (N,1,N,d)
    return _penalty(D, alpha * real + (1 - alpha) * fake)


def test_image_only_code_is_checked_on_images_and_passes() -> None:
    report = check(images_only, "wgan-gp", weight=10.0)
    assert report.passed, report.to_text()
    assert report.domain.startswith("images (N, 3, 8, 8), critic output (N, 1)")


def test_an_alpha_that_broadcasts_vectors_moves_the_search_to_images() -> None:
    # SPEC §6: a candidate fits only if the critic is called on inputs of its shape; on
    # vectors this code calls it on (N, 1, N, 3), so it is judged on images, where it is right
    report = check(broadcasts_on_vectors, "wgan-gp", weight=10.0)
    assert report.passed, report.to_text()
    assert report.domain.startswith("images")


def test_a_declared_domain_shows_the_broadcast_as_critic_input_shape() -> None:
    report = check(broadcasts_on_vectors, "wgan-gp", weight=10.0, event_shape=(3,))
    assert not report.passed
    (cause,) = [c for c in report.causes if "critic was called on inputs of shape" in c.title]
    assert "wgan-gp.critic.input-shape" in cause.checks and len(cause.checks) > 5
    assert "(N, 1, 1, 1)" in cause.fix or "(N, 1, ..., 1)" in cause.fix


BATCH = 32


def hard_coded_batch(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    alpha = torch.rand(BATCH, 1, dtype=real.dtype).expand(BATCH, real.shape[1])
    return _penalty(D, alpha * real + (1 - alpha) * fake)


def test_a_hard_coded_batch_size_is_read_off_the_errors() -> None:
    report = check(hard_coded_batch, "wgan-gp", weight=10.0)
    assert report.passed, report.to_text()
    assert "batch size 32" in report.domain and "hard-coded" in report.domain


def test_a_given_batch_size_is_used_as_is() -> None:
    report = check(hard_coded_batch, "wgan-gp", weight=10.0, batch_size=32)
    assert report.passed, report.to_text()
    assert "batch size 32" in report.domain


def test_every_event_rank_the_code_accepts_is_probed() -> None:
    def generic(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
        return _penalty(D, alpha * real + (1 - alpha) * fake)

    report = check(generic, "wgan-gp", weight=10.0)
    assert report.passed, report.to_text()
    assert "also runs on (N, 3, 8, 8), (N, 3, 16)" in report.domain


def test_nothing_runs_gives_one_cause_with_every_candidate() -> None:
    def refuses(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        raise RuntimeError("not today")

    report = check(refuses, "wgan-gp")
    (cause,) = report.causes
    assert "no input domain runs" in cause.title and "not today" in cause.title
    assert len(cause.checks) == len(report.results)  # no check ran: each says why
    assert report.domain.startswith("none runs")


# -- calling conventions ------------------------------------------------------------------

def d_r1_loss(real_pred: Tensor, real_img: Tensor) -> Tensor:
    (g,) = torch.autograd.grad(real_pred.sum(), real_img, create_graph=True)
    return g.pow(2).reshape(g.shape[0], -1).sum(1).mean()


def test_r1_as_real_pred_real_img_is_inferred_and_passes() -> None:
    report = check(d_r1_loss, "r1", weight=1.0)
    assert report.passed, report.to_text()
    assert report.convention.startswith("pred-input (pred, input)")


def test_an_unweighted_return_leads_with_one_cause() -> None:
    report = check(d_r1_loss, "r1", weight=5.0)
    assert not report.passed
    lead = report.causes[0]
    assert lead.title.startswith("every value is exactly 1/5 of the expected")
    assert "weight=1" in lead.fix and len(lead.checks) >= 3


def real_fake_critic(real: Tensor, fake: Tensor, discriminator: nn.Module) -> Tensor:
    alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
    return _penalty(discriminator, alpha * real + (1 - alpha) * fake)


def with_gpu(netD: nn.Module, real: Tensor, fake: Tensor, gpu: Any) -> Tensor:
    assert gpu is None  # on the CPU, as wgangp-pytorch expects
    return real_fake_critic(real, fake, netD)


def studio(real_images: Tensor, real_labels: Tensor, fake_images: Tensor,
           discriminator: nn.Module, device: torch.device) -> Tensor:
    n = real_images.shape[0]
    alpha = torch.rand((n,) + (1,) * (real_images.ndim - 1), dtype=real_images.dtype,
                       device=device)
    x = (alpha * real_images + (1 - alpha) * fake_images).detach().requires_grad_(True)
    out = discriminator(x, real_labels, eval=False)["adv_output"]
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return ((g.reshape(n, -1).norm(dim=1) - 1) ** 2).mean()


@pytest.mark.parametrize(("fn", "weight", "convention"), [
    (real_fake_critic, 10.0, "real-fake-critic (real, fake, critic)"),
    (with_gpu, 10.0, "with-device (critic, real, fake, device)"),
    (studio, 1.0, "inferred (real, labels, fake, critic, device)"),
], ids=["real-fake-critic", "gpu-none", "studiogan-dict-labels"])
def test_conventions_are_inferred_from_the_signature(fn: Any, weight: float,
                                                     convention: str) -> None:
    report = check(fn, "wgan-gp", weight=weight)
    assert report.passed, report.to_text()
    assert report.convention.startswith(convention)


def test_y_is_the_fake_batch_when_the_spec_needs_one_and_nothing_else_is() -> None:
    def gp(D: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        alpha = torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype)
        return _penalty(D, alpha * x + (1 - alpha) * y)

    report = check(gp, "wgan-gp")
    assert report.passed, report.to_text()
    assert report.convention.startswith("canonical (critic, real, fake)")


def test_a_signature_that_fits_nothing_is_a_usage_error_naming_the_adapters() -> None:
    def odd(gp_type: str, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        raise AssertionError("never called")

    with pytest.raises(AdapterError, match="cannot tell what to pass for the parameter"
                                            r"\(s\) 'gp_type'.*functools.partial"):
        check(odd, "wgan-gp")


def test_a_per_sample_return_takes_the_mean_adapter() -> None:
    def compute_grad2(d_out: Tensor, x_in: Tensor) -> Tensor:
        (g,) = torch.autograd.grad(d_out.sum(), x_in, create_graph=True)
        return g.pow(2).reshape(x_in.size(0), -1).sum(1)

    bare = check(compute_grad2, "r1", weight=1.0)
    assert not bare.passed and "pred-input+mean" in bare.causes[0].fix + bare.causes[0].title
    report = check(compute_grad2, "r1", weight=1.0, adapter="pred-input+mean")
    assert report.passed, report.to_text()


# -- purity: real is data ------------------------------------------------------------------

def r1_on_callers_real(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    real.requires_grad_(True)  # GAN_stability / StyleGAN2 loops: real is data
    (g,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
    return 5.0 * g.flatten(1).square().sum(1).mean()


def test_requires_grad_on_the_real_batch_is_a_warning() -> None:
    report = check(r1_on_callers_real, "r1")
    assert report.passed, report.to_text()
    warned = {r.id for r in report.results if r.status == "warn"}
    assert {"r1.purity.inputs-unchanged", "r1.purity.no-gradient-to-inputs"} <= warned
    strict = check(r1_on_callers_real, "r1", strict=True)
    assert not strict.passed and {r.id for r in strict.failures} == warned


def test_gradient_reaching_the_generator_is_a_failure() -> None:
    def leaks(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
        x = (alpha * real + (1 - alpha) * fake).requires_grad_(True)  # fake not detached
        (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return 10.0 * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()

    report = check(leaks, "wgan-gp")
    bad = {r.id: r for r in report.failures}
    assert "wgan-gp.purity.no-gradient-to-inputs" in bad
    assert "gradient reached generator weight" in bad["wgan-gp.purity.no-gradient-to-inputs"
                                                       ].message


# -- the tolerance policy ------------------------------------------------------------------

@pytest.mark.parametrize("eps", [1e-12, 1e-8, 1e-6])
def test_an_eps_up_to_1e6_inside_the_sqrt_passes_in_every_dtype(eps: float) -> None:
    def eps_norm(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
        return _penalty(D, alpha * real + (1 - alpha) * fake, eps=eps)

    report = check(eps_norm, "wgan-gp")
    assert report.passed, report.to_text()


def test_an_eps_of_1e2_fails_with_digits_that_show_the_difference() -> None:
    def eps_norm(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
        return _penalty(D, alpha * real + (1 - alpha) * fake, eps=1e-2)

    report = check(eps_norm, "wgan-gp", checks=["grad.zero-gradient-finite"])
    (r,) = report.failures
    # where grad f = 0 the norm reads sqrt(1e-2) = 0.1: 10 x (0.1 - 1)^2 = 8.1, not 10 x 1
    assert "penalty=8.1 for a constant critic" in r.message and "but should be 10 " in r.message


def test_printed_numbers_differ_when_they_are_judged_different() -> None:
    from gp_spec.conformance.checks._numbers import digits

    assert digits(4.9, 4.9000001) == ("4.9", "4.9000001")
    assert digits(1.0, 1.0 + 1e-12) == ("1", "1.000000000001")
    assert math.isclose(float(digits(2.25, 36.85)[0]), 2.25)


# -- one cause, one message ----------------------------------------------------------------

def test_a_crash_at_one_line_is_reported_once() -> None:
    def crashes(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        if real.shape[0] != 6:  # runs in the domain probe (N = 6), then every check crashes
            raise IndexError("index 6 is out of bounds")
        alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
        return _penalty(critic, alpha * real + (1 - alpha) * fake)

    report = check(crashes, "wgan-gp")
    lead = report.causes[0]
    assert lead.title.startswith("implementation raised IndexError: index 6 is out of bounds")
    assert "test_conformance_domain.py" in lead.title and len(lead.checks) >= 10


def test_an_engine_error_is_labelled_as_gp_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    from gp_spec.conformance.checks import value

    def broken(ctx: Any, norm: float) -> tuple[float, float]:
        raise ZeroDivisionError("a bug in gp-spec")

    monkeypatch.setattr(value, "norm_interval", broken)
    report = check(images_only, "wgan-gp", checks=["term.at-one"])
    (r,) = report.results
    assert r.status == "error" and r.engine_error
    assert r.message.startswith("gp-spec internal error in wgan-gp.term.at-one (not the "
                                "implementation's fault")


# -- second round: methods, returns and names seen in public code (SPEC §6) -----------------

class _ConvCritic(nn.Module):
    """A critic whose layers are named like conv blocks (c1, c2): its own method is called
    with gp-spec's critic as self, not read as a trainer holding a critic in ``self.c1``."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Linear(3, 4)
        self.c2 = nn.Linear(4, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.c2(torch.tanh(self.c1(x)))

    def gradient_penalty(self, real: Tensor, fake: Tensor) -> Tensor:
        alpha = torch.rand(real.shape[0], 1, dtype=real.dtype)
        x = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self(x).sum(), x, create_graph=True)
        return 10.0 * ((g.norm(dim=1) - 1) ** 2).mean()


def test_a_critic_method_is_called_unbound_even_with_short_layer_names() -> None:
    report = check(_ConvCritic().gradient_penalty, "wgan-gp", weight=10)
    assert "a method of the critic class _ConvCritic" in report.convention
    assert report.passed, report.to_text()


def test_a_tuple_return_is_judged_by_its_first_element_and_says_so() -> None:
    def gp_and_norms(critic: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
        x = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        norms = g.flatten(1).norm(dim=1)
        return 10.0 * ((norms - 1) ** 2).mean(), norms.detach()

    report = check(gp_and_norms, "wgan-gp", weight=10)
    assert report.passed, report.to_text()
    assert "returns a tuple (penalty, ...): the first element is judged" in report.domain


def test_a_return_that_is_never_a_penalty_keeps_its_domain_and_names_the_return() -> None:
    def per_sample(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        x = real.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return g.flatten(1).square().sum(1)  # one value per sample, never reduced

    report = check(per_sample, "r1", weight=1)
    assert not report.passed
    assert report.domain.startswith("vectors (N, 3)")
    assert "returns no 0-dim tensor" in report.domain
    assert "returned a tensor of shape" in report.causes[0].title


def test_used_samples_names_the_pairing_of_interpolates_and_midpoints() -> None:
    # SPEC §2 (mu_GP, mu_mid pair the batch): a permutation pairing uses every sample once,
    # a batch paired with one broadcast sample uses one; the expected indices are the ones the
    # points were built from (segments of random 5-D points do not come near each other).
    from gp_spec import measures
    from gp_spec.conformance.checks._laws import used_samples

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(12, 5, generator=g, dtype=torch.float64), \
        torch.randn(12, 5, generator=g, dtype=torch.float64)
    alpha = torch.rand(12, 1, generator=g, dtype=torch.float64) * 0.8 + 0.1
    perm = torch.randperm(12, generator=g)
    z = alpha * x + (1 - alpha) * y[perm]
    got = used_samples(measures.interpolate(), z, x, y)
    assert got["real"].tolist() == list(range(12)) and got["fake"].tolist() == perm.tolist()
    broadcast = alpha * x + (1 - alpha) * y[-1]
    assert set(used_samples(measures.interpolate(), broadcast, x, y)["fake"].tolist()) == {11}
    mids = (x + y[perm]) / 2
    got = used_samples(measures.midpoint(), mids, x, y)
    assert got["real"].tolist() == list(range(12)) and got["fake"].tolist() == perm.tolist()
