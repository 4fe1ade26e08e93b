"""Backend profiles: shipped files, the loader, and one clear error per bad field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faqnas_qiskit.errors import ConfigError, FaqnasError
from faqnas_qiskit.hardware import (
    ADAPTERS,
    BackendProfile,
    Limits,
    ProfileError,
    list_profiles,
    load_profile,
    profile_names,
)
from faqnas_qiskit.hardware.profiles import profile_from_mapping

REPO = Path(__file__).resolve().parents[2]
REQUIRED = (
    "aer",
    "fake_fez",
    "fake_torino",
    "fake_marrakesh",
    "ibm_fez",
    "ibm_torino",
    "ibm_marrakesh",
    "ibm_kingston",
)

GOOD = """
name = "my_heron"
description = "my own device"
adapter = "ibm_runtime"
backend = "ibm_brisbane"
snapshot = "fake_fez"
shots = 2048
optimization_level = 1
seed_transpiler = 3
resilience_level = 1
rep_delay_s = 0.0001
job_overhead_s = 1.5

[limits]
max_qubits = 8
max_qpu_seconds = 30
"""


def _write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_profiles_cover_the_named_targets() -> None:
    names = profile_names()
    for name in REQUIRED:
        assert name in names
    profiles = list_profiles()
    assert [p.name for p in profiles] == sorted(names)
    for profile in profiles:
        assert profile.adapter in ADAPTERS
        assert profile.shots >= 1 and 0 <= profile.optimization_level <= 3
        if profile.adapter == "ibm_runtime":
            assert profile.backend == profile.name and profile.is_hardware
            assert profile.snapshot == "fake_" + profile.name.removeprefix("ibm_")
            assert profile.limits.max_qpu_seconds is not None
    assert load_profile("aer").adapter == "aer"
    assert load_profile("fake_fez").backend == "fake_fez"
    assert load_profile("IBM-Fez") == load_profile("ibm_fez")  # case and '-' forgiven


def test_top_level_backends_folder_mirrors_the_shipped_profiles() -> None:
    folder = REPO / "backends"
    if not folder.is_dir():
        pytest.skip("not a source checkout")
    for name in profile_names():
        copy = folder / f"{name}.toml"
        assert copy.is_file(), f"backends/{name}.toml is missing"
        assert load_profile(copy) == load_profile(name)
        assert (
            copy.read_text()
            == (REPO / "faqnas_qiskit" / "hardware" / "backends" / f"{name}.toml").read_text()
        )


def test_user_file_with_any_ibm_name(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, GOOD))
    assert profile.name == "my_heron"
    assert profile.backend == "ibm_brisbane"
    assert profile.limits == Limits(max_qubits=8, max_qpu_seconds=30.0)
    assert profile.rep_delay_s == pytest.approx(1e-4)
    # the name defaults to the file's stem
    text = GOOD.replace('name = "my_heron"\n', "")
    assert load_profile(_write(tmp_path, text, "stem_name.toml")).name == "stem_name"
    # round trip through the stored JSON form
    data = json.loads(json.dumps(profile.to_dict()))
    assert profile_from_mapping(data) == profile
    assert "token" not in json.dumps(data).lower()


def test_profile_is_frozen() -> None:
    profile = load_profile("aer")
    with pytest.raises(AttributeError):
        profile.shots = 5  # type: ignore[misc]


BAD_FIELDS: list[tuple[str, str, Any]] = [
    ("shots", "shots = 2048", "shots = 0"),
    ("shots", "shots = 2048", 'shots = "many"'),
    ("optimization_level", "optimization_level = 1", "optimization_level = 4"),
    ("adapter", 'adapter = "ibm_runtime"', 'adapter = "braket"'),
    ("name", 'name = "my_heron"', 'name = "My Heron!"'),
    ("resilience_level", "resilience_level = 1", "resilience_level = 3"),
    ("seed_transpiler", "seed_transpiler = 3", "seed_transpiler = -1"),
    ("job_overhead_s", "job_overhead_s = 1.5", "job_overhead_s = -2"),
    ("rep_delay_s", "rep_delay_s = 0.0001", "rep_delay_s = inf"),
    ("limits.max_qubits", "max_qubits = 8", "max_qubits = 0"),
    ("limits.max_qpu_seconds", "max_qpu_seconds = 30", "max_qpu_seconds = 0"),
    ("snapshot", 'snapshot = "fake_fez"', 'snapshot = "ibm_fez"'),
    ("colour", "shots = 2048", 'shots = 2048\ncolour = "blue"'),
    ("limits.max_shots", "max_qubits = 8", "max_qubits = 8\nmax_shots = 9"),
    ("adapter", 'adapter = "ibm_runtime"\n', ""),
]


@pytest.mark.parametrize(("field", "good", "bad"), BAD_FIELDS)
def test_bad_field_is_named(tmp_path: Path, field: str, good: str, bad: str) -> None:
    assert good in GOOD
    path = _write(tmp_path, GOOD.replace(good, bad, 1))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert f"'{field}'" in message
    assert str(path) in message
    assert "\n" not in message
    assert isinstance(info.value, ConfigError) and isinstance(info.value, FaqnasError)


@pytest.mark.parametrize(
    ("adapter", "backend"),
    [("aer", "ibm_fez"), ("fake", "ibm_fez"), ("fake", "aer_simulator")],
)
def test_adapter_and_backend_must_agree(adapter: str, backend: str) -> None:
    with pytest.raises(ProfileError, match="'backend'"):
        BackendProfile(name="x", adapter=adapter, backend=backend)


def test_unknown_name_lists_the_shipped_profiles() -> None:
    with pytest.raises(ProfileError) as info:
        load_profile("ibm_nowhere")
    message = str(info.value)
    assert "'ibm_nowhere'" in message and "fake_fez" in message and "ibm_kingston" in message


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"existing \.toml file"):
        load_profile(tmp_path / "nothing.toml")
    path = _write(tmp_path, "name = [unclosed")
    with pytest.raises(ProfileError, match="valid TOML") as info:
        load_profile(path)
    assert str(path) in str(info.value)


def test_unknown_fake_backend_is_a_profile_error(tmp_path: Path) -> None:
    from faqnas_qiskit.hardware import make_adapter

    text = GOOD.replace('adapter = "ibm_runtime"', 'adapter = "fake"')
    text = text.replace('backend = "ibm_brisbane"', 'backend = "fake_atlantis"')
    text = text.replace('snapshot = "fake_fez"\n', "").replace("resilience_level = 1\n", "")
    profile = load_profile(_write(tmp_path, text))
    with pytest.raises(ProfileError, match=r"'backend'.*'fake_atlantis'"):
        make_adapter(profile)


def test_profiles_load_without_qiskit_or_torch() -> None:
    # `faqnas backends` must stay fast: profiles are plain TOML
    code = (
        "import sys; import faqnas_qiskit.hardware as h; h.list_profiles(); "
        "print(int('qiskit' in sys.modules or 'torch' in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
