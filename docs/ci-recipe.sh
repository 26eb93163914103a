#!/usr/bin/env bash
# The gp-spec conformance check in CI, as plain shell (docs/ci.md shows it; the test
# tests/test_ci_recipe.py runs this file against a freshly built wheel).
set -euo pipefail

# ADAPT: where gp-spec comes from. It is on no package registry: a git URL (pin a tag or a
# commit) or the path of a wheel built from a checkout with `python -m build`.
GP_SPEC_FROM="${GP_SPEC_FROM:-gp-spec @ git+https://github.com/YOUR-ORG/gp-spec@v0.1.0}"
# ADAPT: your penalty (MODULE:ATTR, importable from the directory this runs in), its spec
# (`gp-spec specs` lists them) and the weight baked into it.
PENALTY="${PENALTY:-mypkg.losses:gradient_penalty}"
PENALTY_SPEC="${PENALTY_SPEC:-wgan-gp}"
PENALTY_WEIGHT="${PENALTY_WEIGHT:-10}"
# The CPU build of torch, installed first: an unpinned torch pulls a CUDA build of several GB.
TORCH="${TORCH:-torch --index-url https://download.pytorch.org/whl/cpu}"

python -m pip install $TORCH
python -m pip install "$GP_SPEC_FROM" pytest
python -m pytest --gp-impl "$PENALTY" --gp-spec "$PENALTY_SPEC" --gp-weight "$PENALTY_WEIGHT" --junitxml=gp-spec.xml
