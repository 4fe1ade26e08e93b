"""``python -m faqnas_qiskit`` runs the ``faqnas`` command."""

from faqnas_qiskit.cli import entry_point

entry_point()
