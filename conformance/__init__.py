"""The conformance suite of gp_spec itself: references, mutants, rewrites, third-party code.

- :mod:`conformance.mutants`: deliberately broken penalties, one per bug class seen in public
  GAN code, each declared with the clause of the check that must name its bug;
- :mod:`conformance.rewrites`: correct but differently written penalties that must pass;
- :mod:`conformance.third_party`: adapters for penalties shipped in PyPI packages;
- :mod:`conformance.table`: ``python -m conformance.table`` prints the mutant/rewrite table
  and exits 1 when any row disagrees with its expectation.

The ``test_*.py`` modules beside them hold gp_spec's conformance engine to all of the above.
"""
