"""Example penalty implementations shipped with gp-spec, written as users write them.

``gp-spec conform gp_spec.examples.penalties:wgan_gp --spec wgan-gp`` works wherever
gp-spec is installed.
"""
