"""Identity Desk benchmarks: ``python -m benchmarks [--reports N] [--json FILE]``.

Every figure comes from synthetic reports (``identity_desktop.demo``: no real person), measured
in fresh child processes where the measure is about a whole process. See ``benchmarks/README.md``
for what each measure does and how the peers are kept fair.
"""
