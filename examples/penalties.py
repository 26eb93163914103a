"""The shipped example penalties, by file path: ``examples/penalties.py:wgan_gp``.

The code lives in the package (:mod:`gp_spec.examples.penalties`, so the same examples work
wherever gp-spec is installed: ``gp_spec.examples.penalties:wgan_gp``); this file only re-exports
it, so that commands written against a checkout's path keep working::

    gp-spec conform examples/penalties.py:image_wgan_gp --spec wgan-gp
    gp-spec bench examples/penalties.py:wgan_gp --spec wgan-gp --critic dcgan --batch 64
"""

from gp_spec.examples.penalties import (
    buggy_image_wgan_gp,
    buggy_wgan_gp,
    image_wgan_gp,
    wgan_gp,
)

__all__ = ["buggy_image_wgan_gp", "buggy_wgan_gp", "image_wgan_gp", "wgan_gp"]
