"""Calling conventions: how gp-spec calls an implementation (SPEC §6: the user's code as
it is written).

The canonical signature is ``fn(critic, real, fake) -> 0-dim tensor`` with the user's weight
baked in. Public code uses many others; each is a *convention*: the role of every argument
(``critic``, ``real``, ``fake``, ``device``, ``labels``, ``pred``, ``input``,
``batch_size``, ``weight``) in order. With ``adapter=None`` the convention is **inferred from
the signature's parameter names** (``(netD, real_data, fake_data)``, ``(real, fake,
discriminator)``, ``(real_pred, real_img)``, ``(images, output, weight=10)``, ``(real_images,
real_labels, fake_images, discriminator, device)``, a ``self`` that is the critic, ...) before
anything runs; a signature that fits no convention is a usage error that says which adapter
might fit. Named adapters force a convention:

=======================  ================================================================
adapter                  the implementation's convention
=======================  ================================================================
``canonical``            ``fn(critic, real, fake)``
``real-fake-critic``     ``fn(real, fake, critic)``
``with-device``          ``fn(critic, real, fake, device)``
``keywords``             ``fn(critic=..., real=..., fake=...)``
``conditional``          ``fn(critic, real, fake, labels)``; the critic is ``D(x, labels)``
                         (labels from ``range(num_classes)``)
``pred-input``           R1 / R2 from the critic's output: ``fn(pred, x)`` where
                         ``x = real.detach().requires_grad_()`` (R2: fake) and
                         ``pred = critic(x)`` (StyleGAN2's ``d_r1_loss(real_pred, real_img)``)
``input-pred``           ``fn(x, pred)`` (lucidrains' ``gradient_penalty(images, output)``)
``method:NAME``          an object whose method ``NAME`` is the penalty (its own signature
                         inferred as above)
``owner:ATTR``           a bound method of an object (a trainer) that reads its critic from
                         ``self.ATTR``: gp-spec puts its critic there for each call and puts
                         the original back (inferred for ``self.D``, ``self.netD``,
                         ``self.discriminator``, ``self.critic``, ``self.adversary``, ...,
                         else the one critic-like module attribute: ``self.netC``)
``...+mean``             any of the above whose result is one value per sample, reduced
                         with ``.mean()`` (GAN_stability's ``compute_grad2``:
                         ``pred-input+mean``)
=======================  ================================================================

A bound method of the critic itself (``my_critic.calc_gradient_penalty``, ctgan, mimicry) is
called unbound with gp-spec's critic as ``self``; a bound method that is given the critic or
its output (a loss object's ``r1_penalty(real_images, real_logits)``) is called as it is. A
required ``gamma`` of R1/R2, whose spec weight is Mescheder's gamma/2, receives twice the
checked weight (``rho`` for SGP's rho/2).

The critic's *output* convention (``(N,)``, ``(N, 1)``, a dict such as StudioGAN's
``{"adv_output": ...}``, a tuple) is part of the input domain, detected like the event
shape (``critic_output`` option; see :mod:`gp_spec.conformance._domain`).
"""
# Over 500 lines: the conventions' table, the role names and the inference that reads them
# are one concept; splitting them would separate a name list from the rule that uses it.

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from gp_spec.errors import AdapterError, NotCallableError

__all__ = ["ADAPTERS", "Convention", "adapt", "infer_convention"]

ROLES = ("critic", "real", "fake", "device", "labels", "pred", "input", "batch_size",
         "weight", "twice_weight", "side")
"""What gp-spec can pass for an argument."""

ADAPTERS: dict[str, tuple[str, ...]] = {
    "canonical": ("critic", "real", "fake"),
    "real-fake-critic": ("real", "fake", "critic"),
    "with-device": ("critic", "real", "fake", "device"),
    "conditional": ("critic", "real", "fake", "labels"),
    "pred-input": ("pred", "input"),
    "input-pred": ("input", "pred"),
    "keywords": (),
}
"""Adapter name -> the roles of its positional arguments (``keywords`` passes
``critic=, real=, fake=``; ``method:NAME`` and ``+mean`` are handled by :func:`adapt`)."""

_CRITIC = {"critic", "netd", "net_d", "d", "dis", "disc", "discriminator", "discrimator",
           "discrimiator", "model", "adversary", "nn_disc", "self", "net", "f", "module",
           "d_net", "netdis", "critic_model", "discriminator_model", "network"}
_PRED = {"pred", "preds", "real_pred", "fake_pred", "d_out", "d_real", "d_fake", "out",
         "output", "outputs", "adv_output", "logits", "real_logits", "scores", "real_scores",
         "d_outputs", "disc_out", "validity", "real_validity", "y_pred", "d_x", "score",
         "d_interpolate", "d_interpolates", "disc_interpolates", "d_hat", "d_xhat"}
_INPUT = {"x_in", "x", "images", "image", "img", "imgs", "input", "inputs", "real_img",
          "real_imgs", "real_images", "x_real", "samples", "data", "real", "real_data",
          "real_samples", "fake_img", "fake_images", "x_fake", "interpolate", "interpolates",
          "x_hat", "xhat"}
_REAL = {"real", "x", "input", "data", "x_real", "images", "samples", "real_x", "inputs",
         "img", "imgs", "image"}
_FAKE = {"fake", "x_fake", "g_out", "gen", "generated", "fakes", "g_z", "x_gen"}
_DEVICE = {"device", "gpu", "dev", "cuda", "gpu_id", "use_cuda"}
_LABELS = {"labels", "label", "y", "y_real", "c", "cls", "classes", "targets", "target", "cond",
           "condition", "real_c", "class_labels", "real_labels", "y_label", "input_att",
           "att", "attr", "attrs", "attributes"}
_SIDE = {"dim", "img_size", "image_size", "side", "size", "resolution", "img_dim"}
_BATCH = {"batch_size", "bs", "batchsize", "batch", "n_samples", "num_samples", "nbatch"}
_WEIGHT = {"weight", "lambda_", "lambd", "lam", "lambda_gp", "gp_weight", "gp_lambda", "lda",
           "gamma", "reg_param", "penalty_weight", "gp_scale", "coef", "lambda_term",
           "lambda", "r1_gamma", "r1_weight", "gp_coef"}


def _role(name: str, *, pred_seen: bool) -> str | None:
    """The role a parameter name announces, or None (``y`` is read as labels, as in
    conditional GAN code; ``x_`` as ``x``)."""
    n = name.lower().strip("_")
    if n in _PRED or "pred" in n or "logit" in n:
        return "pred"
    if n in _DEVICE:
        return "device"
    if n in _BATCH:
        return "batch_size"
    if n in _SIDE:
        return "side"
    if n in _WEIGHT:
        return "weight"
    if n in _LABELS or "label" in n:
        return "labels"
    if n in _CRITIC or "disc" in n or "critic" in n or "advers" in n:
        return "critic"
    if pred_seen and (n in _INPUT or "img" in n or "image" in n):
        return "input"
    if "fake" in n or n in _FAKE or n.startswith("gen") or "synth" in n:
        return "fake"
    if "real" in n or n in _REAL:
        return "real"
    return None


@dataclass(frozen=True)
class Convention:
    """How to call an implementation.

    Attributes:
      name: the adapter name (``canonical``, ...) or ``inferred``.
      positional: the role of each positional argument, in order.
      keywords: ``(parameter, role)`` passed by keyword.
      mean: reduce a per-sample result with ``.mean()``.
      how: how the convention was chosen, for the report.
      device_style: how a ``device`` role is passed: ``"device"`` (a torch.device),
        ``"gpu"`` (None on the CPU, the CUDA index otherwise), ``"bool"`` (is it CUDA).
    """

    name: str
    positional: tuple[str, ...]
    keywords: tuple[tuple[str, str], ...] = ()
    mean: bool = False
    how: str = ""
    device_style: str = "device"

    @property
    def roles(self) -> set[str]:
        return set(self.positional) | {r for _, r in self.keywords}

    @property
    def uses_labels(self) -> bool:
        return "labels" in self.roles

    def describe(self) -> str:
        sig = ", ".join(self.positional + tuple(f"{k}={r}" for k, r in self.keywords))
        return f"{self.name} ({sig})" + (" then .mean()" if self.mean else "") \
            + (f", {self.how}" if self.how else "")


@dataclass(frozen=True)
class Caller:
    """The implementation under a convention: ``caller(critic, real, fake, labels)``.

    ``pred_on`` is the batch ``pred``/``input`` conventions differentiate (``"real"`` for
    R1 and most specs, ``"fake"`` for R2).
    """

    fn: Callable[..., Any]
    convention: Convention
    pred_on: str = "real"
    weight: float = 1.0
    target: Any = field(default=None, compare=False)
    owner: Any = field(default=None, compare=False)
    owner_attr: str | None = None

    def __call__(self, critic: nn.Module, real: Tensor, fake: Tensor,
                 labels: Tensor | None = None) -> Any:
        conv = self.convention
        box: dict[str, Any] = {}

        def value(role: str) -> Any:
            if role in box:
                return box[role]
            if role == "critic":
                out: Any = critic
            elif role == "real":
                out = real
            elif role == "fake":
                out = fake
            elif role == "labels":
                out = labels
            elif role == "batch_size":
                out = real.shape[0]
            elif role == "side":  # the image side of code written for square images
                out = real.shape[-1]
            elif role == "device":
                out = _device_value(real.device, conv.device_style)
            elif role in ("pred", "input"):
                base = fake if self.pred_on == "fake" else real
                x = base.detach().requires_grad_(True)
                box["input"] = x
                box["pred"] = critic(x) if labels is None else critic(x, labels)
                out = box[role]
            elif role == "twice_weight":  # gamma where the spec's weight is gamma/2
                out = 2.0 * self.weight
            else:  # "weight": the checked weight
                out = self.weight
            box[role] = out
            return out

        if self.owner_attr is not None:  # a trainer's method: its critic is ours, for now
            saved = getattr(self.owner, self.owner_attr)
            setattr(self.owner, self.owner_attr, critic)
            try:
                args = [value(r) for r in conv.positional]
                kwargs = {k: value(r) for k, r in conv.keywords}
                result = self.fn(*args, **kwargs)
            finally:
                setattr(self.owner, self.owner_attr, saved)
        else:
            args = [value(r) for r in conv.positional]
            kwargs = {k: value(r) for k, r in conv.keywords}
            result = self.fn(*args, **kwargs)
        if conv.mean and isinstance(result, Tensor) and result.ndim >= 1:
            result = result.mean()
        return result


def _device_value(device: torch.device, style: str) -> Any:
    if style == "gpu":
        return None if device.type != "cuda" else (device.index or 0)
    if style == "bool":
        return device.type == "cuda"
    return device


def _parameters(fn: Any) -> list[inspect.Parameter] | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins, some C extensions
        return None
    return list(sig.parameters.values())


def _device_style(name: str) -> str:
    n = name.lower()
    return "gpu" if n in ("gpu", "gpu_id") else "bool" if n in ("cuda", "use_cuda") else "device"


def infer_convention(fn: Any, *, needs: frozenset[str], labels: bool = False,
                     owner_critic: bool = False, halved: str | None = None) -> Convention:
    """The convention of ``fn`` from its parameter names (see the module docstring).

    Args:
      fn: the callable.
      needs: the data roles the spec needs (``{"real", "fake"}``, ``{"real"}`` for R1, ...).
      labels: labels are available (``num_classes`` was given): an optional labels
        parameter is filled.
      owner_critic: the critic reaches the method through its object (``owner:ATTR``).
      halved: the paper's constant when the spec's weight is half of it (``"gamma"`` for
        R1/R2, whose weight is Mescheder's gamma/2): a required weight parameter named after
        it receives twice the checked weight.

    Raises:
      AdapterError: a required parameter whose role cannot be told, or a signature that
        lacks what the spec needs; the message names the adapter that might fit.
    """
    params = _parameters(fn)
    if params is None:
        return Convention("canonical", ADAPTERS["canonical"],
                          how="its signature cannot be read: canonical assumed")
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    kw_required = [p for p in params if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
    has_varargs = any(p.kind == p.VAR_POSITIONAL for p in params)
    names = [p.name for p in required]
    pred_seen = any(_role(p.name, pred_seen=False) == "pred" for p in required)
    roles = [_role(n, pred_seen=pred_seen) for n in names]
    sig_text = "(" + ", ".join(p.name for p in params if p.kind not in (p.VAR_KEYWORD,)) + ")"
    if has_varargs and not required:
        return Convention("canonical", ADAPTERS["canonical"],
                          how=f"signature {sig_text} takes *args: canonical assumed")
    if None in roles and len(required) == 3 and not kw_required:
        return Convention("canonical", ADAPTERS["canonical"],
                          how=f"signature {sig_text}: three positional arguments, read as "
                              "(critic, real, fake)")
    if "pred" in roles and "input" not in roles and roles.count("real") + roles.count(
            "fake") == 1:  # (real_logits, real_x): the one batch beside the output is its input
        roles = ["input" if r in ("real", "fake") else r for r in roles]
    if "fake" in needs and "fake" not in roles and "labels" in roles:
        # ``y`` is labels in conditional code, but the fake batch of (D, x, y)
        roles = ["fake" if (r == "labels" and n.lower() == "y") else r
                 for n, r in zip(names, roles, strict=True)]
    if halved:
        roles = ["twice_weight" if (r == "weight" and halved in n.lower()) else r
                 for n, r in zip(names, roles, strict=True)]
    unknown = [n for n, r in zip(names, roles, strict=True) if r is None]
    if unknown:
        raise AdapterError(
            f"cannot tell what to pass for the parameter(s) {', '.join(map(repr, unknown))} "
            f"of the signature {sig_text}; pass adapter= one of {', '.join(ADAPTERS)}, "
            "method:NAME, or bind extra arguments with functools.partial"
        )
    kw_roles = []
    for p in kw_required:
        r = _role(p.name, pred_seen=pred_seen)
        if r is None:
            raise AdapterError(
                f"cannot tell what to pass for the keyword-only parameter {p.name!r} of "
                f"{sig_text}; bind it with functools.partial"
            )
        kw_roles.append((p.name, r))
    # optional parameters gp-spec still fills: the device, the batch size, labels when there
    # are labels, and real or fake when the spec needs them and no required parameter has them
    taken = {r for r in roles if r is not None} | {r for _, r in kw_roles}
    for p in positional + [q for q in params if q.kind == q.KEYWORD_ONLY]:
        if p.default is p.empty:
            continue
        r = _role(p.name, pred_seen=pred_seen)
        if r is None or r in taken:
            continue
        if r in ("device", "batch_size") or (r == "labels" and labels) \
                or (r in ("real", "fake") and r in needs):
            kw_roles.append((p.name, r))
            taken.add(r)
    conv_roles = tuple(r for r in roles if r is not None)
    style = next((_device_style(p.name) for p in params
                  if _role(p.name, pred_seen=pred_seen) == "device"), "device")
    conv = Convention("inferred", conv_roles, tuple(kw_roles),
                      how=f"inferred from the signature {sig_text}", device_style=style)
    _check_fit(conv, needs, sig_text, owner_critic)
    return _named(conv)


def _named(conv: Convention) -> Convention:
    """Report an inferred convention under the adapter name it equals, if any."""
    for name, roles in ADAPTERS.items():
        if roles and roles == conv.positional and not conv.keywords:
            return Convention(name, roles, how=conv.how, device_style=conv.device_style)
    return conv


def _check_fit(conv: Convention, needs: frozenset[str], sig_text: str,
               owner_critic: bool = False) -> None:
    roles = conv.positional + tuple(r for _, r in conv.keywords)
    dup = sorted({r for r in roles if roles.count(r) > 1 and r != "weight"})
    if dup:
        raise AdapterError(
            f"the signature {sig_text} has several parameters read as {dup[0]!r}; pass "
            f"adapter= one of {', '.join(ADAPTERS)}"
        )
    if "pred" in roles or "input" in roles:
        if not {"pred", "input"} <= set(roles):
            raise AdapterError(
                f"the signature {sig_text} takes the critic's output but not its input (or "
                "the reverse); pred-input is (pred, x), input-pred is (x, pred)"
            )
        return
    if "critic" not in roles and not owner_critic:
        raise AdapterError(
            f"the signature {sig_text} has no parameter read as the critic; name it critic/"
            "netD/discriminator or pass adapter= (canonical, real-fake-critic, ...)"
        )
    missing = sorted(needs - set(roles))
    if missing:
        raise AdapterError(
            f"the signature {sig_text} has no parameter for {', '.join(missing)}, which this "
            "spec needs; pass adapter= (canonical is (critic, real, fake))"
        )


_OWNER_ATTRS = ("D", "netD", "net_d", "discriminator", "critic", "adversary", "dis", "disc",
                "netdis", "model_d", "d_model", "discriminator_model")


_CRITIC_ATTR = re.compile(r"^(net_?)?(d|c|dis|disc)(_?net|_?model)?$|critic|discrim",
                          re.IGNORECASE)
"""Attribute names read as a critic when none of :data:`_OWNER_ATTRS` is present
(``netC``, ``D_net``, ``critic_1``, ``model_critic``, ...)."""


def _owner_attr(owner: Any, *, scan: bool = False) -> str | None:
    """The attribute of ``owner`` that holds its critic (an ``nn.Module`` or None), if one
    name fits: one of :data:`_OWNER_ATTRS`; with ``scan``, else the one module attribute
    whose name reads as a critic (:data:`_CRITIC_ATTR`)."""
    def module_or_none(a: str) -> bool:
        v = getattr(owner, a, _MISSING)
        return v is None or isinstance(v, nn.Module)

    hits = [a for a in _OWNER_ATTRS if hasattr(owner, a) and module_or_none(a)]
    if hits or not scan:
        return hits[0] if len(hits) == 1 else None
    names = list(vars(owner)) if hasattr(owner, "__dict__") else []
    if isinstance(owner, nn.Module):
        names += list(owner._modules)
    found = sorted({a for a in names if _CRITIC_ATTR.search(a) and module_or_none(a)})
    return found[0] if len(found) == 1 else None


_MISSING = object()


def _given_critic(method: Any) -> bool:
    """Whether a bound method takes the critic or the critic's output as an argument (a loss
    object's method such as ``loss.r1_penalty(real_images, real_logits)``): then its object
    is not the critic and holds none."""
    params = _parameters(method) or []
    pred_seen = any(_role(p.name, pred_seen=False) == "pred" for p in params)
    return any(_role(p.name, pred_seen=pred_seen) in ("critic", "pred")
               for p in params if p.default is p.empty)


def _is_critic(obj: Any) -> bool:
    """An ``nn.Module`` with a ``forward`` of its own (a loss class that only subclasses
    ``nn.Module`` for its buffers is not a critic)."""
    return isinstance(obj, nn.Module) and type(obj).forward is not nn.Module.forward


def adapt(impl: Any, adapter: str | None = None, *, needs: frozenset[str] = frozenset(
        {"real", "fake"}), weight: float = 1.0, pred_on: str = "real",
          labels: bool = False, halved: str | None = None) -> Caller:
    """``impl`` under a convention: a :class:`Caller` ``(critic, real, fake, labels)``.

    Args:
      impl: the implementation (a function, a callable object, or an object for
        ``method:NAME``).
      adapter: an :data:`ADAPTERS` name, ``method:NAME``, either with ``+mean``, or None
        (infer the convention from the signature).
      needs: the data roles the spec needs.
      weight: the checked weight (passed to a required ``weight``-like parameter).
      pred_on: the batch ``pred``/``input`` conventions differentiate.
      labels: labels are available (``num_classes`` given).
      halved: see :func:`infer_convention`.

    Raises:
      AdapterError: unknown adapter, ``method:NAME`` on an object without that method, or a
        signature that fits no convention (the message says which adapter fits).
      NotCallableError: the (adapted) implementation is not callable.
    """
    name = adapter or ""
    mean = name.endswith("+mean")
    if mean:
        name = name[: -len("+mean")]
    fn: Any = impl
    how = ""
    owner, owner_attr = None, None
    if name.startswith("owner:"):
        owner_attr = name.split(":", 1)[1]
        owner = getattr(impl, "__self__", None)
        if owner is None or not owner_attr or not hasattr(owner, owner_attr):
            raise AdapterError(f"adapter {adapter!r}: the implementation is not a bound method "
                               f"of an object with an attribute {owner_attr!r}")
        how, name = f"its object's critic attribute {owner_attr!r} swapped for each call", ""
    elif not name and inspect.ismethod(impl) and not isinstance(impl.__self__, type):
        obj = impl.__self__
        params = _parameters(impl.__func__) or []
        given = _given_critic(impl)
        named = None if given else _owner_attr(obj)
        if given:
            pass  # takes the critic or its output: called bound, as it is
        elif named is None and _is_critic(obj) and params and params[0].name == "self":
            fn = impl.__func__  # a method of the critic: called with gp-spec's critic as self
            how = f"a method of the critic class {type(obj).__name__}, called unbound"
        elif (attr := named or _owner_attr(obj, scan=True)) is not None:
            owner, owner_attr = obj, attr
            how = f"a method of {type(owner).__name__}, whose self.{attr} is swapped for " \
                "gp-spec's critic for each call"
    if name.startswith("method:"):
        method = name.split(":", 1)[1]
        fn = getattr(impl, method, None)
        if not method or not callable(fn):
            raise AdapterError(
                f"adapter {adapter!r}: {type(impl).__name__} has no callable method {method!r}"
            )
        how = f"method {method!r}"
        name = ""
    if not callable(fn):
        raise NotCallableError(
            f"the implementation (of type {type(fn).__name__}) is not callable; pass a "
            "function fn(critic, real, fake) or use --adapter method:NAME for an object"
        )
    if name == "":
        conv = infer_convention(fn, needs=needs, labels=labels,
                                owner_critic=owner_attr is not None, halved=halved)
        if how:
            conv = Convention(conv.name, conv.positional, conv.keywords, conv.mean,
                              f"{how}, {conv.how}", conv.device_style)
    elif name == "keywords":
        conv = Convention("keywords", (), (("critic", "critic"), ("real", "real"),
                                           ("fake", "fake")), how="adapter 'keywords'")
    elif name in ADAPTERS:
        params = _parameters(fn) or []
        style = next((_device_style(p.name) for p in params
                      if p.name.lower() in _DEVICE), "device")
        conv = Convention(name, ADAPTERS[name], how=f"adapter {name!r}", device_style=style)
    else:
        known = ", ".join([*ADAPTERS, "method:NAME", "owner:ATTR"])
        raise AdapterError(f"unknown adapter {adapter!r}; known adapters: {known} (each "
                           "may end in +mean)")
    if mean:
        conv = Convention(conv.name, conv.positional, conv.keywords, True, conv.how,
                          conv.device_style)
    return Caller(fn, conv, pred_on, weight, impl, owner, owner_attr)
