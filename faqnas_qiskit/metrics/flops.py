"""FLOPs of an HQNN as ``torch.profiler`` counts them (DESIGN §5), and their exact formulas.

What is counted. ``torch.profiler.profile(with_flops=True)`` attaches a FLOP count to a few
operators only, from their input shapes:

* ``aten::mm`` (M×K)·(K×N): ``2·M·N·K``; ``aten::bmm`` over B batches: ``2·B·M·N·K``;
* ``aten::addmm`` (the ``nn.Linear`` product with its bias): ``2·M·N·K`` (the bias add is not
  counted);
* ``aten::mul`` and ``aten::add``: the number of elements of the *first* input (not of the
  output, so a broadcast product counts the size of its first operand);
* a few others (convolutions) that an HQNN does not use.

Everything else counts 0: ``div``, ``sqrt``, ``cos``/``sin``, ``stack``, ``where``, indexing,
permutes and reshapes, ``log_softmax``, ``nll_loss``, reductions. Complex operands count like
real ones (a complex multiply-add is "2 FLOPs"; real arithmetic would be about four times that).

The quantum count F_Q is taken on the statevector engine's *reference* mode, where every gate is
one dense product on the state (see :mod:`faqnas_qiskit.engines.program`), so the fast path's
optimisations never change the metric. Per sample (state viewed as a 2**k × 2**(n-k) matrix):

* one-qubit gate (2×2): ``2·2·2·2**(n-1) = 4·2**n`` (``aten::mm``, or ``aten::bmm`` when the
  matrix differs per sample, as the RX(x_i) of the angle embedding);
* two-qubit gate (4×4, CX or CZ): ``2·4·4·2**(n-2) = 8·2**n`` (``aten::mm``);
* angle embedding: n one-qubit gates, ``n·4·2**n``; amplitude embedding: the state v/‖v‖ is
  initialised directly, whose only counted operator is the squares ``v·v`` (``aten::mul``,
  ``2**n``);
* readout ⟨Z_i⟩: probabilities ``conj(ψ)·ψ`` (``aten::mul``, ``2**n``) times a (2**n × n) sign
  table (``aten::mm``, ``2·n·2**n``).

So ``F_Q = E + depth·(n·4·2**n + |pairs|·8·2**n) + 2**n + 2·n·2**n`` with ``E = n·4·2**n``
(angle) or ``2**n`` (amplitude) and ``|pairs| = n-1`` (linear, and circular on 2 qubits) or
``n`` (circular, n > 2). The classical count is ``F_C = 2·n_features·m + 2·n·n_classes``
(``pre`` and ``post`` as ``aten::addmm``; m = n or 2**n). Both formulas are checked against the
profiler in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional

from faqnas_qiskit.circuits import build_circuit, entangling_pairs
from faqnas_qiskit.engines import HQNNSimulator
from faqnas_qiskit.limits import Bound, Fields, check, check_fields
from faqnas_qiskit.space import Genome

__all__ = [
    "FlopCounts",
    "classical_flops",
    "classical_flops_formula",
    "count_flops",
    "quantum_flops",
    "quantum_flops_formula",
    "training_flops",
    "training_flops_formula",
    "training_flops_per_sample",
]

_QUANTUM = "faqnas::quantum"
_CLASSICAL = "faqnas::classical"


def _check_widths(n_features: int, n_classes: int) -> None:
    check("features", n_features, parameter="n_features")
    check("classes", n_classes, parameter="n_classes")


def quantum_flops_formula(genome: Genome) -> int:
    """The analytic F_Q of ``genome``: what the profiler counts for one sample (see module doc).

    Args:
        genome: The architecture.

    Returns:
        FLOPs (profiler convention) of one reference-mode forward pass of the quantum layer for
        one sample: embedding + depth × layer + readout.
    """
    n = genome.n_qubits
    dim = 2**n
    pairs = len(entangling_pairs(n, genome.topology))
    embedding = n * 4 * dim if genome.embedding == "angle" else dim
    layer = n * 4 * dim + pairs * 8 * dim
    readout = dim + 2 * n * dim
    return embedding + genome.depth * layer + readout


def classical_flops_formula(genome: Genome, n_features: int, n_classes: int) -> int:
    """The analytic F_C: ``2·n_features·m + 2·n·n_classes`` (both ``nn.Linear`` as addmm).

    Biases and ``log_softmax`` count 0 in the profiler's convention.

    Args:
        genome: The architecture (gives m and n).
        n_features: Width of the input features.
        n_classes: Number of classes.

    Returns:
        FLOPs of one sample's forward pass through ``pre``, ``post`` and log-softmax.
    """
    _check_widths(n_features, n_classes)
    return 2 * n_features * genome.n_inputs + 2 * genome.n_qubits * n_classes


def training_flops_formula(genome: Genome, n_features: int, n_classes: int) -> int:
    """The analytic training FLOPs of one sample: forward, NLL loss and backward.

    ``F_Q + F_C`` (forward) plus the backward pass, term by term (n qubits, D = 2**n, depth L,
    P pairs, m = n or D, F = n_features, C = n_classes):

    * classical: ``2·F·m`` (gradient of ``pre``'s weight; the input needs none) +
      ``4·n·C`` (``post``: gradients of its weight and of its input);
    * readout: ``2·n·D`` (sign table, ``aten::mm``) + ``2·D`` (the two factors of
      ``conj(ψ)·ψ``, ``aten::mul``);
    * every gate whose input state needs a gradient: the state's gradient, the same FLOPs as the
      forward product; a parametric gate also its matrix's gradient, once more. Angle embedding:
      ``(2n-1)·4·D`` (its first gate acts on the constant |0…0⟩: matrix gradient only);
      layers: ``L·(n·8·D + P·8·D)``;
    * the rotation matrices' construction: ``3`` per rotation angle (two ``aten::mul`` for
      cos/sin, one ``aten::add``): ``3·n`` for the angle embedding, ``3·L·n`` for the layers;
    * amplitude embedding ``v/‖v‖``: ``3·D + 1`` (``aten::mul``: two for the squares, one for the
      division's gradient, one scalar for the norm).

    Equals :func:`training_flops_per_sample` (tested).

    Args:
        genome: The architecture.
        n_features: Width of the input features.
        n_classes: Number of classes.

    Returns:
        FLOPs (profiler convention) of one sample's training step.
    """
    n, depth, m = genome.n_qubits, genome.depth, genome.n_inputs
    dim = 2**n
    pairs = len(entangling_pairs(n, genome.topology))
    forward = quantum_flops_formula(genome) + classical_flops_formula(genome, n_features, n_classes)
    classical = 2 * n_features * m + 4 * n * n_classes
    readout = 2 * n * dim + 2 * dim
    angle = genome.embedding == "angle"
    embedding = (2 * n - 1) * 4 * dim + 3 * n if angle else 3 * dim + 1
    layers = depth * (n * 8 * dim + pairs * 8 * dim + 3 * n)
    return forward + classical + readout + embedding + layers


FLOP_COUNTS_FIELDS = Fields.of(
    "FlopCounts",
    "Count them again (count_flops).",
    *(Bound.count(name) for name in ("quantum", "classical", "training")),
)
"""The declared constraints of :class:`FlopCounts`' fields."""


@dataclass(frozen=True)
class FlopCounts:
    """Profiler FLOP counts of one architecture for one sample.

    Attributes:
        quantum: F_Q, the quantum layer's reference-mode forward pass.
        classical: F_C, ``pre``, ``post`` and log-softmax forward.
        training: Forward (quantum + classical), NLL loss and backward of the whole model.
    """

    quantum: int
    classical: int
    training: int

    def __post_init__(self) -> None:
        for name, value in check_fields(FLOP_COUNTS_FIELDS, self).items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class _Event:
    name: str
    thread: int
    start_ns: int
    end_ns: int
    flops: int
    nested: bool  # takes part in the call tree (synchronous CPU event)


# Utility events the profiler's own event list leaves out (torch.autograd.profiler._filter_name).
_FILTERED = frozenset(
    {
        "[memory]",
        "[OutOfMemory]",
        "profiler::_record_function_enter",
        "profiler::_record_function_enter_new",
        "profiler::_record_function_exit",
        "aten::is_leaf",
        "aten::output_nr",
        "aten::_version",
    }
)


def _raw_events(prof: torch.profiler.profile) -> list[_Event] | None:
    result = getattr(getattr(prof, "profiler", None), "kineto_results", None)
    if result is None or not hasattr(result, "events"):
        return None
    cpu = torch.autograd.DeviceType.CPU
    events = []
    for e in result.events():
        name = e.name()
        if name in _FILTERED or getattr(e, "is_hidden_event", lambda: False)():
            continue
        asynchronous = e.is_async() or e.start_thread_id() != e.end_thread_id()
        events.append(
            _Event(
                name,
                int(e.start_thread_id()),
                int(e.start_ns()),
                int(e.end_ns()),
                int(e.flops()),
                not asynchronous and e.device_type() == cpu,
            )
        )
    return _without_duplicates(events)


def _without_duplicates(events: list[_Event]) -> list[_Event]:
    """The events ``prof.events()`` keeps: a call nested in a call of the same name as its
    parent's only child (``aten::mul`` with a scalar calling ``aten::mul`` on a tensor) is
    dropped, as ``EventList._remove_dup_nodes`` does, so that it is not counted twice.
    """
    parent = [-1] * len(events)
    children: list[list[int]] = [[] for _ in events]
    order = sorted(
        (i for i, e in enumerate(events) if e.nested),
        key=lambda i: (events[i].thread, events[i].start_ns, -events[i].end_ns),
    )
    stack: list[int] = []
    thread = None
    for i in order:
        event = events[i]
        if event.thread != thread:
            stack, thread = [], event.thread
        while stack and (
            event.start_ns >= events[stack[-1]].end_ns or event.end_ns > events[stack[-1]].end_ns
        ):
            stack.pop()
        if stack:
            parent[i] = stack[-1]
            children[stack[-1]].append(i)
        stack.append(i)
    removed: set[int] = set()
    changed = True
    while changed:
        changed = False
        for i, event in enumerate(events):
            up = parent[i]
            if i in removed or up < 0:
                continue
            if events[up].name == event.name and len(children[up]) == 1:
                children[up] = children[i]
                for child in children[i]:
                    parent[child] = up
                removed.add(i)
                changed = True
    return [e for i, e in enumerate(events) if i not in removed]


def _events(prof: torch.profiler.profile) -> list[_Event]:
    """The recorded operators with their FLOPs, as ``prof.events()`` lists them.

    Reads the raw profiler result when it is there and applies the event list's duplicate
    rule itself: building ``FunctionEvent`` objects with ``prof.events()`` costs ~10 ms per
    session and grows with the number of operators, several times the profiled work itself.
    """
    raw = _raw_events(prof)
    if raw is not None:
        return raw
    return [  # pragma: no cover - torch builds without the raw result
        _Event(
            e.name,
            int(e.thread),
            int(e.time_range.start * 1000),
            int(e.time_range.end * 1000),
            int(e.flops or 0),
            True,
        )
        for e in prof.events()
    ]


def _profile(run: Callable[[], object]) -> list[_Event]:
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU], with_flops=True
    ) as prof:
        run()
    return _events(prof)


def _within(events: Sequence[_Event], label: str) -> int:
    """FLOPs of the operators that ran inside the ``record_function`` ranges named ``label``."""
    spans = [(e.start_ns, e.end_ns) for e in events if e.name == label]
    return sum(
        e.flops
        for e in events
        if e.flops and any(start <= e.start_ns and e.end_ns <= end for start, end in spans)
    )


def _inputs(genome: Genome, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed, non-degenerate features (batch, m) and weights (depth·n,); values do not matter."""
    m = genome.n_inputs
    features = torch.linspace(-1.0, 1.0, batch * m).reshape(batch, m) + 0.5 / m
    weights = torch.linspace(-1.0, 1.0, genome.n_weights)
    return features, weights


def quantum_flops(genome: Genome) -> int:
    """F_Q measured: the profiler's FLOPs of the quantum layer's forward pass for one sample.

    Runs ``HQNNSimulator(build_circuit(genome)).expectations(features, weights, reference=True)``
    with features of shape (1, m) under ``torch.profiler.profile(with_flops=True)`` and sums the
    ``flops`` of every recorded operator. Equals :func:`quantum_flops_formula` (tested).

    Args:
        genome: The architecture.

    Returns:
        FLOPs (profiler convention) per sample.
    """
    simulator = HQNNSimulator(build_circuit(genome))
    features, weights = _inputs(genome)
    with torch.no_grad():
        events = _profile(lambda: simulator.expectations(features, weights, reference=True))
    return sum(e.flops for e in events)


class _Classical:
    """``pre``/``post`` weights as plain tensors, so that no global RNG is drawn from."""

    def __init__(self, genome: Genome, n_features: int, n_classes: int) -> None:
        m, n = genome.n_inputs, genome.n_qubits
        self.pre_w = torch.linspace(-0.5, 0.5, m * n_features).reshape(m, n_features)
        self.pre_b = torch.linspace(-0.1, 0.1, m)
        self.post_w = torch.linspace(-0.5, 0.5, n_classes * n).reshape(n_classes, n)
        self.post_b = torch.linspace(-0.1, 0.1, n_classes)

    def parameters(self) -> tuple[torch.Tensor, ...]:
        return (self.pre_w, self.pre_b, self.post_w, self.post_b)

    def pre(self, x: torch.Tensor) -> torch.Tensor:
        return functional.linear(x, self.pre_w, self.pre_b)

    def head(self, q: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(functional.linear(q, self.post_w, self.post_b), dim=1)


def classical_flops(genome: Genome, n_features: int, n_classes: int) -> int:
    """F_C measured: the profiler's FLOPs of ``pre``, ``post`` and log-softmax for one sample.

    The layers are ``nn.Linear``'s operator (``functional.linear``) with the model's shapes;
    the quantum layer in between is not profiled. Equals :func:`classical_flops_formula`.

    Args:
        genome: The architecture.
        n_features: Width of the input features.
        n_classes: Number of classes.

    Returns:
        FLOPs (profiler convention) per sample.
    """
    _check_widths(n_features, n_classes)
    layers = _Classical(genome, n_features, n_classes)
    x = torch.linspace(-1.0, 1.0, n_features).reshape(1, n_features)
    q = torch.linspace(-0.5, 0.5, genome.n_qubits).reshape(1, genome.n_qubits)
    with torch.no_grad():
        events = _profile(lambda: (layers.pre(x), layers.head(q)))
    return sum(e.flops for e in events)


def count_flops(genome: Genome, n_features: int, n_classes: int) -> FlopCounts:
    """F_Q, F_C and training FLOPs per sample, from one profiled training step of one sample.

    The step is the model's (DESIGN §4) with the quantum layer in reference mode:
    ``pre`` → ``HQNNSimulator.expectations(..., reference=True)`` → ``post`` → log-softmax → NLL
    loss → ``backward()`` (gradients for all weights). F_Q and F_C are the FLOPs of the operators
    inside the quantum and classical parts of the forward pass; training FLOPs are every
    operator of the step, forward and backward. The optimiser update is not included.

    Args:
        genome: The architecture.
        n_features: Width of the input features.
        n_classes: Number of classes.

    Returns:
        The three counts, FLOPs (profiler convention) per sample.
    """
    _check_widths(n_features, n_classes)
    simulator = HQNNSimulator(build_circuit(genome))
    layers = _Classical(genome, n_features, n_classes)
    _, theta = _inputs(genome)
    params = (*layers.parameters(), theta)
    for p in params:
        p.requires_grad_(True)
    x = torch.linspace(-1.0, 1.0, n_features).reshape(1, n_features)
    y = torch.tensor([n_classes - 1])

    def step() -> None:
        with torch.profiler.record_function(_CLASSICAL):
            h = layers.pre(x)
        with torch.profiler.record_function(_QUANTUM):
            q = simulator.expectations(h, theta, reference=True).to(h.dtype)
        with torch.profiler.record_function(_CLASSICAL):
            out = layers.head(q)
        functional.nll_loss(out, y).backward()

    events = _profile(step)
    return FlopCounts(
        quantum=_within(events, _QUANTUM),
        classical=_within(events, _CLASSICAL),
        training=sum(e.flops for e in events),
    )


def training_flops_per_sample(genome: Genome, n_features: int, n_classes: int) -> int:
    """Profiler FLOPs of one sample's training step: forward, NLL loss and backward.

    See :func:`count_flops` for what the step contains.
    """
    return count_flops(genome, n_features, n_classes).training


def training_flops(
    genome: Genome, n_features: int, n_classes: int, n_train: int, epochs: int
) -> int:
    """Training FLOPs: one sample's forward + backward (profiled) × ``n_train`` × ``epochs``.

    Every counted operator of a training step scales with the batch except the few on the
    weights alone (the backward of the rotation matrices' construction, a handful of
    ``aten::mul`` of size depth·n), which a batch of B samples pays once rather than B times;
    counting them per sample makes this a slight over-estimate that does not depend on the batch
    size. The optimiser update (Adam) is not counted.

    Args:
        genome: The architecture.
        n_features: Width of the input features.
        n_classes: Number of classes.
        n_train: Training samples per epoch.
        epochs: Passes over the training set.

    Returns:
        FLOPs (profiler convention) of the whole training run.
    """
    check("train-samples", n_train, parameter="n_train")
    check("epochs", epochs, parameter="epochs")
    return training_flops_per_sample(genome, n_features, n_classes) * n_train * epochs
