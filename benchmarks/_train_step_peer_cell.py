"""One cell of the peer comparison of ``train_step.py --peers``, run by an engine's own Python.

The parent (``_train_step_peers``) writes a reference file (``.npz``) per genome from our engine:
the circuit's description, the initial weights, the training batches, and our engine's outputs
and gradients on a check batch in float64 and in float32. This script rebuilds the same network
(same weights) on one engine, compares it with that reference, and (``--mode time``) times
training steps, reporting events as JSON lines after ``MARKER`` (the format of
``_train_step_harness``). It imports numpy and the engine's own libraries only (``ours`` also
imports ``faqnas_qiskit``), so that it runs in each peer's virtual environment.

Engines (``PEER_ENGINES``):

* ``ours``: ``build_model(genome, 16, 3, engine="statevector", seed=0)`` trained as the library
  trains it (``train_model``, ``train_batched``): each step by
  ``faqnas_qiskit.evaluation.fused.fused_trainer`` (forward, NLL, the hand-written backward and
  Adam; NumPy on the CPU up to 5 qubits, torch above); its check compares the trainer's own
  log-probabilities and gradients (the ones a timed step uses) and the module's ⟨Z_i⟩;
* ``tc-jax``: tensorcircuit-ng on JAX, contractor ``plain-experimental``: the whole step
  (forward, NLL, ``value_and_grad``, optax Adam) under one ``jax.jit``; the circuit is ``vmap``-ed
  over the batch and ⟨Z_i⟩ are ``expectation_ps(z=[i])`` (the state is contracted once, reused);
* ``tc-torch``: tensorcircuit-ng on its PyTorch backend, ``tc.TorchLayer`` (``torch.vmap`` over
  the batch, no interface, no jit), torch autograd and ``torch.optim.Adam``;
* ``tq-dynamic`` / ``tq-static``: TorchQuantum, a ``QuantumModule`` of trainable ``tq.RX/RY/RZ``
  and ``tq.CNOT/CZ`` operators after a ``tqf.rx`` (or state) encoding on a
  ``tq.QuantumDevice(bsz=batch)``, ⟨Z⟩ by ``tq.MeasureAll(tq.PauliZ)``; static mode is
  ``static_on(wires_per_block=...)`` (gates fused into block unitaries). TorchQuantum's states
  and gates are complex64 (``torchquantum.macro.C_DTYPE``) whatever the dtype of its inputs, so
  its float64 check agrees with ours to about 1e-7, not 1e-15;
* ``pennylane``: ``qml.qnn.TorchLayer`` on ``default.qubit`` with ``diff_method="backprop"``.

Qubit i of ours (Qiskit order: qubit 0 is the least significant bit of a basis index) is wire
``n - 1 - i`` of the peers (whose first wire is the most significant bit), so that an amplitude
embedding's state vector is the same array on every engine; ⟨Z_i⟩ are returned in our order.

Run by the parent, e.g.:

    benchmarks/out/envs/tensorcircuit/bin/python benchmarks/_train_step_peer_cell.py \
        --reference REF.npz --engine tc-jax --mode time --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

MARKER = "@@cell "
PEER_ENGINES: tuple[str, ...] = (
    "ours",
    "tc-jax",
    "tc-torch",
    "tq-dynamic",
    "tq-static",
    "pennylane",
)
GRADIENTS: tuple[str, ...] = (
    "pre.weight",
    "pre.bias",
    "circuit weights",
    "post.weight",
    "post.bias",
)
CHECK64_TOLERANCE = 1e-5  # float64 check against our engine in float64
CHECK32_TOLERANCE = 1e-4  # the timed (float32) network against our engine in float32
MAX_WARMUP = 200  # warm-up steps at most (``--warmup-seconds`` stops earlier)


def emit(event: str, **payload: Any) -> None:
    """Send one event to the parent process (one JSON line on stdout)."""
    print(MARKER + json.dumps({"event": event, **payload}), flush=True)


def load_reference(path: str) -> dict[str, Any]:
    """The reference file as a dict of numpy arrays and plain values."""
    with np.load(path, allow_pickle=False) as data:
        ref = {key: data[key] for key in data.files}
    for key in ("n_qubits", "n_classes", "batch", "n_batches"):
        ref[key] = int(ref[key])
    ref["learning_rate"] = float(ref["learning_rate"])
    for key in ("genome", "embedding", "entangler"):
        ref[key] = str(ref[key])
    ref["rotations"] = [str(r) for r in ref["rotations"]]
    ref["pairs"] = [(int(c), int(t)) for c, t in ref["pairs"].reshape(-1, 2)]
    return ref


def wire(ref: dict[str, Any], qubit: int) -> int:
    """The peer wire of our qubit ``qubit`` (see the module docstring)."""
    return int(ref["n_qubits"]) - 1 - qubit


# ------------------------------------------------------------------------- torch-based engines


def _linear(weight: np.ndarray, bias: np.ndarray, dtype: Any) -> Any:
    import torch

    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weight))
        layer.bias.copy_(torch.from_numpy(bias))
    return layer


def _torch_network(ref: dict[str, Any], quantum: Any, theta: Callable[[], Any], dtype: Any) -> Any:
    """Linear -> ``quantum`` -> Linear -> log_softmax, with the reference's classical weights.

    Args:
        ref: The reference.
        quantum: A module mapping (batch, m) to ⟨Z_i⟩ (batch, n), our qubit order.
        theta: Returns the circuit weights' gradient holder(s) as one tensor in our order
            (called after ``backward``, on ``.grad``-carrying parameters).
        dtype: torch dtype of the classical layers and inputs.
    """
    import torch

    class PeerHQNN(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre = _linear(ref["pre_weight"], ref["pre_bias"], dtype)
            self.quantum = quantum
            self.post = _linear(ref["post_weight"], ref["post_bias"], dtype)

        def expectations(self, x: Any) -> Any:
            return self.quantum(self.pre(x))

        def forward(self, x: Any) -> Any:
            return torch.log_softmax(self.post(self.expectations(x)), dim=1)

        def circuit_grad(self) -> Any:
            return theta()

    return PeerHQNN()


def _ours(ref: dict[str, Any], dtype: Any) -> Any:
    import torch

    from faqnas_qiskit.models import build_model
    from faqnas_qiskit.space import Genome

    genome = Genome.parse(ref["genome"])
    model = build_model(genome, ref["pre_weight"].shape[1], ref["n_classes"], seed=0)
    weight = model.quantum.weight
    if not np.array_equal(weight.detach().numpy(), ref["theta"].astype(np.float32)):
        raise RuntimeError("our model's circuit weights differ from the reference's")
    if dtype == torch.float64:
        model = model.double()
    model.expectations = lambda x: model.quantum(model.pre(x))  # type: ignore[method-assign]
    model.circuit_grad = lambda: model.quantum.weight.grad  # type: ignore[method-assign]
    return model


def _pennylane(ref: dict[str, Any], dtype: Any) -> Any:
    import pennylane as qml
    import torch

    n = ref["n_qubits"]
    rotation = {"rx": qml.RX, "ry": qml.RY, "rz": qml.RZ}
    entangler = qml.CNOT if ref["entangler"] == "cx" else qml.CZ
    device = qml.device("default.qubit", wires=n)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def circuit(inputs: Any, weights: Any) -> list[Any]:
        if ref["embedding"] == "angle":
            for i in range(n):
                qml.RX(inputs[..., i], wires=wire(ref, i))
        else:  # wire 0 (our qubit n-1) is the most significant bit: the same state vector
            qml.AmplitudeEmbedding(inputs, wires=list(range(n)), normalize=True)
        for layer, name in enumerate(ref["rotations"]):
            for i in range(n):
                rotation[name](weights[layer * n + i], wires=wire(ref, i))
            for control, target in ref["pairs"]:
                entangler(wires=[wire(ref, control), wire(ref, target)])
        return [qml.expval(qml.PauliZ(wire(ref, i))) for i in range(n)]

    layer = qml.qnn.TorchLayer(circuit, {"weights": (len(ref["theta"]),)})
    layer = layer.to(dtype)
    with torch.no_grad():
        layer.weights.copy_(torch.from_numpy(ref["theta"]))
    return _torch_network(ref, layer, lambda: layer.weights.grad, dtype)


def _tc_torch(ref: dict[str, Any], dtype: Any) -> Any:
    import tensorcircuit as tc
    import torch

    K = tc.set_backend("pytorch")
    tc.set_dtype("complex128" if dtype == torch.float64 else "complex64")
    tc.set_contractor("plain-experimental")  # as for JAX (the setting)
    qfunction = _tc_circuit(ref, tc, K)
    layer = tc.TorchLayer(
        qfunction,
        weights_shape=[(len(ref["theta"]),)],
        use_vmap=True,
        use_interface=False,
        use_jit=False,
        initializer=lambda shape: torch.from_numpy(ref["theta"]).to(dtype),
    )
    return _torch_network(ref, layer, lambda: layer.q_weights[0].grad, dtype)


def _tc_circuit(ref: dict[str, Any], tc: Any, backend: Any) -> Callable[[Any, Any], Any]:
    """The per-sample circuit function of tensorcircuit-ng: (m,), (n_weights,) -> ⟨Z_i⟩ (n,)."""
    n = ref["n_qubits"]
    pairs = [(wire(ref, c), wire(ref, t)) for c, t in ref["pairs"]]
    rotations = ref["rotations"]
    amplitude = ref["embedding"] == "amplitude"

    def qfunction(z: Any, theta: Any) -> Any:
        if amplitude:
            state = z / backend.norm(z)
            c = tc.Circuit(n, inputs=backend.cast(state, tc.dtypestr))
        else:
            c = tc.Circuit(n)
            for i in range(n):
                c.rx(wire(ref, i), theta=z[i])
        for layer, name in enumerate(rotations):
            gate = getattr(c, name)
            for i in range(n):
                gate(wire(ref, i), theta=theta[layer * n + i])
            for control, target in pairs:
                if ref["entangler"] == "cx":
                    c.cnot(control, target)
                else:
                    c.cz(control, target)
        return backend.real(backend.stack([c.expectation_ps(z=[wire(ref, i)]) for i in range(n)]))

    return qfunction


def _tq(ref: dict[str, Any], dtype: Any, static: bool, wires_per_block: int) -> Any:
    import torch
    import torchquantum as tq
    import torchquantum.functional as tqf

    n = ref["n_qubits"]
    ops = {"rx": tq.RX, "ry": tq.RY, "rz": tq.RZ}
    entangler = tq.CNOT if ref["entangler"] == "cx" else tq.CZ

    class Ansatz(tq.QuantumModule):
        """The trainable layers (the part that static mode fuses)."""

        def __init__(self) -> None:
            super().__init__()
            self.n_wires = n
            self.rotations = tq.QuantumModuleList(
                ops[name](has_params=True, trainable=True)
                for name in ref["rotations"]
                for _ in range(n)
            )
            self.entanglers = tq.QuantumModuleList(
                entangler() for _ in ref["rotations"] for _ in ref["pairs"]
            )

        @tq.static_support
        def forward(self, q_device: Any) -> None:
            self.q_device = q_device
            for layer in range(len(ref["rotations"])):
                for i in range(n):
                    self.rotations[layer * n + i](q_device, wires=wire(ref, i))
                for k, (control, target) in enumerate(ref["pairs"]):
                    self.entanglers[layer * len(ref["pairs"]) + k](
                        q_device, wires=[wire(ref, control), wire(ref, target)]
                    )

    class TQLayer(tq.QuantumModule):
        def __init__(self) -> None:
            super().__init__()
            self.n_wires = n
            self.ansatz = Ansatz()
            self.measure = tq.MeasureAll(tq.PauliZ)
            with torch.no_grad():
                for op, value in zip(self.ansatz.rotations, ref["theta"], strict=True):
                    op.params.fill_(float(value))

        def forward(self, z: Any) -> Any:
            qdev = tq.QuantumDevice(n_wires=n, bsz=z.shape[0], device=z.device)
            if ref["embedding"] == "angle":
                for i in range(n):
                    tqf.rx(qdev, wires=wire(ref, i), params=z[:, i])
            else:
                state = z / z.norm(dim=1, keepdim=True)
                qdev.set_states(state.to(qdev.states.dtype))
            self.ansatz(qdev)
            expectations = self.measure(qdev)  # wire order
            order = [wire(ref, i) for i in range(n)]
            return expectations[:, order].to(z.dtype)

        def theta_grad(self) -> Any:
            return torch.cat([op.params.grad.reshape(-1) for op in self.ansatz.rotations])

    layer = TQLayer()
    if static:
        layer.ansatz.static_on(wires_per_block=wires_per_block)
    return _torch_network(ref, layer, layer.theta_grad, dtype)


class OursTrainer:
    """Our engine as the library trains it: the hand-written trainer of ``fused_trainer``, one
    step ``loss`` + ``step`` (forward, NLL, backward, Adam) on a batch of one model."""

    def __init__(self, ref: dict[str, Any], dtype: Any) -> None:
        import torch

        from faqnas_qiskit.evaluation.fused import fused_trainer
        from faqnas_qiskit.models import InitialParameters

        self.torch = torch
        self.network = _ours(ref, dtype)
        net = self.network
        initial = InitialParameters.of(net)
        self.trainer = fused_trainer([net.genome], [initial], dtype, "cpu", ref["learning_rate"])
        self.dtype = dtype
        batch = ref["batch"]
        self.batches = [
            (
                torch.from_numpy(ref["features"][k * batch : (k + 1) * batch]).to(dtype)[None],
                torch.from_numpy(ref["labels"][k * batch : (k + 1) * batch]).long()[None],
            )
            for k in range(ref["n_batches"])
        ]
        self.done = 0

    def outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        with self.torch.no_grad():
            features = self.torch.from_numpy(x).to(self.dtype)
            expectations = self.network.expectations(features)
            log_probs = self.trainer.log_probs(features[None])[0]
        return expectations.double().numpy(), log_probs.double().numpy(), str(log_probs.dtype)

    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        features = self.torch.from_numpy(x).to(self.dtype)[None]
        labels = self.torch.from_numpy(y).long()[None]
        self.trainer.loss(features, labels)
        flat = self.trainer.gradient()[0]
        out = {}
        start = 0
        for name, view in zip(GRADIENTS, self.trainer.parameters(), strict=True):
            size = view[0].numel()
            out[name] = flat[start : start + size].reshape(view[0].shape).double().numpy()
            start += size
        out["circuit weights"] = out["circuit weights"].reshape(-1)
        return out

    def step(self) -> float:
        x, y = self.batches[self.done % len(self.batches)]
        self.done += 1
        start = time.perf_counter()
        self.trainer.loss(x, y)
        self.trainer.step()
        return time.perf_counter() - start


class TorchTrainer:
    """Outputs, gradients and Adam steps of a torch network (one step: zero_grad, NLL,
    backward, Adam; the step of ``_train_step_harness``)."""

    def __init__(self, network: Any, ref: dict[str, Any], dtype: Any) -> None:
        import torch

        self.torch = torch
        self.network = network
        self.dtype = dtype
        self.optimizer = torch.optim.Adam(network.parameters(), lr=ref["learning_rate"])
        batch = ref["batch"]
        self.batches = [
            (
                torch.from_numpy(ref["features"][k * batch : (k + 1) * batch]).to(dtype),
                torch.from_numpy(ref["labels"][k * batch : (k + 1) * batch]).long(),
            )
            for k in range(ref["n_batches"])
        ]
        self.done = 0

    def outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        with self.torch.no_grad():
            features = self.torch.from_numpy(x).to(self.dtype)
            expectations = self.network.expectations(features)
            log_probs = self.network(features)
        return expectations.double().numpy(), log_probs.double().numpy(), str(log_probs.dtype)

    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        net = self.network
        net.zero_grad(set_to_none=True)
        features = self.torch.from_numpy(x).to(self.dtype)
        labels = self.torch.from_numpy(y).long()
        self.torch.nn.functional.nll_loss(net(features), labels).backward()
        grads = [
            net.pre.weight.grad,
            net.pre.bias.grad,
            net.circuit_grad(),
            net.post.weight.grad,
            net.post.bias.grad,
        ]
        net.zero_grad(set_to_none=True)
        return {k: g.detach().double().numpy() for k, g in zip(GRADIENTS, grads, strict=True)}

    def step(self) -> float:
        x, y = self.batches[self.done % len(self.batches)]
        self.done += 1
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.torch.nn.functional.nll_loss(self.network(x), y)
        loss.backward()
        self.optimizer.step()
        return time.perf_counter() - start


# -------------------------------------------------------------------------------- tc on JAX


class JaxTrainer:
    """tensorcircuit-ng on JAX: forward, NLL, gradient and optax Adam under one ``jax.jit``."""

    def __init__(self, ref: dict[str, Any], float64: bool) -> None:
        import jax

        if float64:
            jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import optax
        import tensorcircuit as tc

        K = tc.set_backend("jax")
        tc.set_dtype("complex128" if float64 else "complex64")
        tc.set_contractor("plain-experimental")
        self.jax, self.jnp = jax, jnp
        real = jnp.float64 if float64 else jnp.float32
        self.real = real
        batched = K.vmap(_tc_circuit(ref, tc, K), vectorized_argnums=0)

        def forward(params: dict[str, Any], x: Any) -> tuple[Any, Any]:
            hidden = x @ params["pre.weight"].T + params["pre.bias"]
            expectations = batched(hidden, params["circuit weights"])
            logits = expectations @ params["post.weight"].T + params["post.bias"]
            return expectations, jax.nn.log_softmax(logits, axis=1)

        def loss(params: dict[str, Any], x: Any, y: Any) -> Any:
            _, log_probs = forward(params, x)
            return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))

        optimizer = optax.adam(ref["learning_rate"])

        def train_step(params: Any, state: Any, x: Any, y: Any) -> tuple[Any, Any, Any]:
            value, grads = jax.value_and_grad(loss)(params, x, y)
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state, value

        self.forward = K.jit(forward)
        self.grad = K.jit(jax.grad(loss))
        self.train_step = K.jit(train_step)
        arrays = {
            "pre.weight": ref["pre_weight"],
            "pre.bias": ref["pre_bias"],
            "circuit weights": ref["theta"],
            "post.weight": ref["post_weight"],
            "post.bias": ref["post_bias"],
        }
        self.params = {k: jnp.asarray(v, dtype=real) for k, v in arrays.items()}
        self.state = optimizer.init(self.params)
        batch = ref["batch"]
        self.batches = [
            (
                jnp.asarray(ref["features"][k * batch : (k + 1) * batch], dtype=real),
                jnp.asarray(ref["labels"][k * batch : (k + 1) * batch], dtype=jnp.int32),
            )
            for k in range(ref["n_batches"])
        ]
        self.done = 0

    def outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        expectations, log_probs = self.forward(self.params, self.jnp.asarray(x, dtype=self.real))
        return (
            np.asarray(expectations, dtype=np.float64),
            np.asarray(log_probs, dtype=np.float64),
            str(log_probs.dtype),
        )

    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        grads = self.grad(
            self.params,
            self.jnp.asarray(x, dtype=self.real),
            self.jnp.asarray(y, dtype=self.jnp.int32),
        )
        return {k: np.asarray(grads[k], dtype=np.float64) for k in GRADIENTS}

    def step(self) -> float:
        x, y = self.batches[self.done % len(self.batches)]
        self.done += 1
        start = time.perf_counter()
        self.params, self.state, value = self.train_step(self.params, self.state, x, y)
        value.block_until_ready()
        self.jax.block_until_ready(self.params)
        return time.perf_counter() - start


# ------------------------------------------------------------------------------------ the cell


def build(engine: str, ref: dict[str, Any], float64: bool, wires_per_block: int) -> Any:
    """The trainer of ``engine`` on the reference's network, float64 or float32."""
    if engine == "tc-jax":
        return JaxTrainer(ref, float64)
    import torch

    dtype = torch.float64 if float64 else torch.float32
    if engine == "ours":
        return OursTrainer(ref, dtype)
    if engine == "pennylane":
        network = _pennylane(ref, dtype)
    elif engine == "tc-torch":
        network = _tc_torch(ref, dtype)
    elif engine in ("tq-dynamic", "tq-static"):
        network = _tq(ref, dtype, engine == "tq-static", wires_per_block)
    else:
        raise ValueError(f"The 'engine' option must be one of {PEER_ENGINES}. Got {engine!r}.")
    return TorchTrainer(network, ref, dtype)


def compare(trainer: Any, ref: dict[str, Any], suffix: str) -> tuple[dict[str, float], str]:
    """Largest absolute differences from our engine's reference values (``ref64``/``ref32``)."""
    x, y = ref["check_x"], ref["check_y"]
    expectations, log_probs, dtype = trainer.outputs(x)
    errors = {
        "expectations": float(np.abs(expectations - ref[f"expectations_{suffix}"]).max()),
        "log_probs": float(np.abs(log_probs - ref[f"log_probs_{suffix}"]).max()),
    }
    grads = trainer.gradients(x, y)
    errors["gradients"] = max(
        float(np.abs(grads[name] - ref[f"grad_{suffix}_{k}"]).max())
        for k, name in enumerate(GRADIENTS)
    )
    return errors, dtype


def versions(engine: str) -> dict[str, str]:
    """Versions of the libraries the engine runs on."""
    from importlib import metadata

    wanted = {
        "ours": ["faqnas-qiskit", "torch", "qiskit"],
        "tc-jax": ["tensorcircuit-ng", "jax", "jaxlib", "optax"],
        "tc-torch": ["tensorcircuit-ng", "torch"],
        "tq-dynamic": ["torchquantum", "torch"],
        "tq-static": ["torchquantum", "torch"],
        "pennylane": ["pennylane", "torch"],
    }[engine]
    out = {}
    for name in wanted:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "?"
    return out


def threads(engine: str) -> int | None:
    """One intra-op thread for torch, reported. ``tc-jax`` does not import torch: it reports 1
    when the parent's ``XLA_FLAGS`` ask for one intra-op thread, else None."""
    if engine == "tc-jax":
        flags = os.environ.get("XLA_FLAGS", "")
        return 1 if "intra_op_parallelism_threads=1" in flags else None
    import torch

    torch.set_num_threads(1)
    return int(torch.get_num_threads())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True)
    parser.add_argument("--engine", required=True, choices=PEER_ENGINES)
    parser.add_argument("--mode", choices=("check", "time"), default="time")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up steps (at least)")
    parser.add_argument(
        "--warmup-seconds", type=float, default=1.0, help="seconds of warm-up after the first step"
    )
    parser.add_argument("--steps", type=int, default=200, help="timed steps at most")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timed steps")
    parser.add_argument("--wires-per-block", type=int, default=2)
    args = parser.parse_args(argv)

    ref = load_reference(args.reference)
    n_threads = threads(args.engine)
    started = time.perf_counter()
    trainer = build(args.engine, ref, args.mode == "check", args.wires_per_block)
    suffix, tolerance = (
        ("64", CHECK64_TOLERANCE) if args.mode == "check" else ("32", CHECK32_TOLERANCE)
    )
    errors, dtype = compare(trainer, ref, suffix)
    passed = all(value <= tolerance for value in errors.values())
    emit(
        "ready",
        engine=args.engine,
        threads=n_threads,
        check=errors,
        passed=passed,
        dtype=dtype,
        versions=versions(args.engine),
        setup_s=time.perf_counter() - started,
        pid=os.getpid(),
        affinity=sorted(os.sched_getaffinity(0)),
    )
    if args.mode == "check" or not passed:
        emit("done")
        return 0 if passed else 1
    # the first step compiles (JAX) or builds graphs (TorchQuantum static): it does not count
    # towards ``--warmup-seconds``
    warm, count = 0.0, 0
    while count < MAX_WARMUP and (count < args.warmup or warm < args.warmup_seconds):
        seconds = trainer.step()
        warm += seconds if count else 0.0
        count += 1
        emit("warmup", engine=args.engine, seconds=seconds)
    spent = 0.0
    for _ in range(args.steps):
        seconds = trainer.step()
        spent += seconds
        emit("step", engine=args.engine, seconds=seconds)
        if spent >= args.budget:
            break
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
