"""Training photo3d's own edge, depth and colour inpainting networks (issue 10).

``python -m photo3d.train photo3d/train/recipes/cpu.yml`` makes the data (cached), trains
the three networks one after another (resumable) and, with ``--export checkpoints``, writes
them as the shipped weights. Modules: :mod:`.config` (the run's YAML), :mod:`.data` (data
making and network inputs), :mod:`.losses`, :mod:`.loop`, :mod:`.plots`, :mod:`.shipped` (export and loading of the shipped weights),
:mod:`.stages` (the only module importing package internals).
"""


def main(argv=None) -> int:
    """``photo3d train`` entry point (see :mod:`photo3d.train.command`)."""
    from .command import main as _main

    return _main(argv)
