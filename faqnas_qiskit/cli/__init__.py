"""The ``faqnas`` command. The only package that reads argv and the environment.

One module per subcommand (``evaluate``, ``inspect``, ``search``, ``runs``, ``front``,
``report``, ``hardware``, ``backends``, ``atlas``), each declaring a
:class:`~faqnas_qiskit.cli.command.Command` that :mod:`~faqnas_qiskit.cli.registry` lists;
shared option groups in :mod:`~faqnas_qiskit.cli.options`, tables, progress bars and JSON/CSV
in :mod:`~faqnas_qiskit.cli.output`, parser and ``main`` in :mod:`~faqnas_qiskit.cli.app`.
Building the parser loads neither torch nor Qiskit: each command loads what it needs when it
runs.
"""

from faqnas_qiskit.cli.app import build_parser, entry_point, main

__all__ = ["build_parser", "entry_point", "main"]
