"""``python -m faqnas_qiskit`` runs the ``faqnas`` command."""

import sys

try:  # Ctrl-C while the command's modules load is one line too, as it is once they have
    from faqnas_qiskit.cli import entry_point
except KeyboardInterrupt:
    print("faqnas: interrupted", file=sys.stderr)
    sys.exit(130)

entry_point()
