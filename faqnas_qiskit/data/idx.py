"""Reading MNIST-style IDX files (plain or gzip-compressed) from a directory the user names.

The IDX format (LeCun et al.): a 4-byte big-endian magic number ``0x0000TTNN`` where ``TT`` is the
element type (``0x08`` = unsigned byte) and ``NN`` the number of dimensions, then ``NN`` big-endian
``uint32`` sizes, then the elements in C order. This module reads only what MNIST and
Fashion-MNIST use: ``0x00000803`` (images, ``uint8``, 3-D) and ``0x00000801`` (labels, ``uint8``,
1-D). The library never downloads these files and never reads the environment: the caller says
where they are.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from faqnas_qiskit.data.records import RawData
from faqnas_qiskit.errors import DataError, invalid

__all__ = [
    "IDX_FILES",
    "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC",
    "load_idx_dataset",
    "locate_idx_files",
    "parse_idx",
    "read_idx_images",
    "read_idx_labels",
]

logger = logging.getLogger(__name__)

#: Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
IDX_IMAGES_MAGIC = 0x00000803
#: Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
IDX_LABELS_MAGIC = 0x00000801

#: The four files of an MNIST-style dataset, in the order train images, train labels, test
#: images, test labels. Each may also end in ``.gz``.
IDX_FILES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

_GZIP_MAGIC = b"\x1f\x8b"

_SUBFOLDERS: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist",),
    "fashion_mnist": ("fashion_mnist", "fashion-mnist"),
}

_CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}

_REFETCH = "The file is corrupt or incomplete: download it again."


def _describe_magic(magic: int) -> str:
    kind = {IDX_IMAGES_MAGIC: "images", IDX_LABELS_MAGIC: "labels"}.get(magic, "")
    return f"0x{magic:08X} (IDX unsigned-byte {kind}, {magic & 0xFF}-D)"


def parse_idx(
    data: bytes, *, expected_magic: int, source: str = "<bytes>"
) -> npt.NDArray[np.uint8]:
    """Parse the bytes of an uncompressed IDX file of unsigned bytes.

    Args:
        data: The whole file content.
        expected_magic: ``IDX_IMAGES_MAGIC`` or ``IDX_LABELS_MAGIC``; any other magic in the
            data is an error.
        source: Where the bytes came from, for error messages (a path).

    Returns:
        A read-only ``uint8`` view of ``data`` with the shape declared in the header, e.g.
        ``(n_images, rows, cols)`` or ``(n_labels,)``. No copy is made.

    Raises:
        DataError: If the magic number is not ``expected_magic``, or the byte count does not
            match the header (truncated file or trailing bytes).
    """
    name = os.fspath(source)
    if len(data) < 4:
        raise DataError(
            invalid(
                name,
                f"an IDX file starting with the 4-byte magic number "
                f"{_describe_magic(expected_magic)}; its length in bytes",
                len(data),
                _REFETCH,
                what="file",
            )
        )
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DataError(
            invalid(
                name,
                f"an IDX file with magic number {_describe_magic(expected_magic)}",
                f"0x{magic:08X}",
                "Check that the file is the right one of the four (images vs labels) and not "
                "corrupt; download it again if in doubt.",
                what="file",
            )
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            invalid(
                name,
                f"at least {header} bytes long to hold its IDX header",
                len(data),
                _REFETCH,
                what="file",
            )
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + math.prod(dims)
    if len(data) != expected:
        shape = "x".join(str(d) for d in dims)
        raise DataError(
            invalid(
                name,
                f"exactly {expected} bytes long, as its header declares "
                f"({header}-byte header + {shape} unsigned bytes)",
                len(data),
                f"The file is {'truncated' if len(data) < expected else 'followed by extra bytes'}"
                f": download it again.",
                what="file",
            )
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    """Read a file, decompressing it if it is gzip (detected by content, not by suffix)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(
            invalid(
                str(path),
                "a readable file",
                type(exc).__name__,
                f"Check the path and its permissions ({exc.strerror or exc}).",
                what="file",
            )
        ) from exc
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                invalid(
                    str(path),
                    "a complete gzip stream",
                    f"a gzip file that fails to decompress ({exc})",
                    _REFETCH,
                    what="file",
                )
            ) from exc
    return data


def read_idx_images(path: str | os.PathLike[str]) -> npt.NDArray[np.uint8]:
    """Read an IDX image file (``0x00000803``), plain or gzip-compressed.

    Args:
        path: The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.

    Returns:
        Read-only ``uint8`` array of shape ``(n_images, rows, cols)``, pixel values 0..255.

    Raises:
        DataError: If the file cannot be read, is not valid gzip, has the wrong magic number,
            or its length does not match its header.
    """
    p = Path(path)
    return parse_idx(_read_bytes(p), expected_magic=IDX_IMAGES_MAGIC, source=str(p))


def read_idx_labels(path: str | os.PathLike[str]) -> npt.NDArray[np.uint8]:
    """Read an IDX label file (``0x00000801``), plain or gzip-compressed.

    Args:
        path: The file, e.g. ``train-labels-idx1-ubyte`` or ``train-labels-idx1-ubyte.gz``.

    Returns:
        Read-only ``uint8`` array of shape ``(n_labels,)``.

    Raises:
        DataError: As ``read_idx_images``.
    """
    p = Path(path)
    return parse_idx(_read_bytes(p), expected_magic=IDX_LABELS_MAGIC, source=str(p))


def _expected_files_text(name: str) -> str:
    folders = " or ".join(f"'{d}/'" for d in _SUBFOLDERS[name])
    return (
        f"the {name} IDX files {', '.join(IDX_FILES)} (each may end in .gz), directly or in a "
        f"{folders} subfolder"
    )


def _candidate_dirs(name: str, data_dir: Path) -> list[Path]:
    return [data_dir, *(data_dir / sub for sub in _SUBFOLDERS[name])]


def _find_in(directory: Path, base: str) -> Path | None:
    # Plain first (no decompression); the dotted form is how some mirrors name the files.
    dotted = base.replace("-idx", ".idx")
    for candidate in (base, f"{base}.gz", dotted, f"{dotted}.gz"):
        path = directory / candidate
        if path.is_file():
            return path
    return None


def locate_idx_files(name: str, data_dir: str | os.PathLike[str] | None) -> tuple[Path, ...]:
    """Find the four IDX files of ``name`` under ``data_dir``.

    The directory itself is searched first, then the dataset's subfolders (``mnist/`` for
    ``"mnist"``; ``fashion_mnist/`` and ``fashion-mnist/`` for ``"fashion_mnist"``). The first
    directory holding all four files wins, so files are never mixed across folders.

    Args:
        name: ``"mnist"`` or ``"fashion_mnist"``.
        data_dir: The directory the user named, or None (always an error: the library does not
            read ``FAQNAS_DATA`` itself).

    Returns:
        The paths of ``IDX_FILES``, in that order.

    Raises:
        DataError: If ``data_dir`` is None or not a directory, or no searched directory holds all
            four files; the message names the files, the directory and the fix.
    """
    if name not in _SUBFOLDERS:
        raise DataError(invalid("name", f"one of {sorted(_SUBFOLDERS)}", name))
    expected = _expected_files_text(name)
    if data_dir is None:
        raise DataError(
            invalid(
                "data_dir",
                f"a directory holding {expected} when loading {name!r}",
                None,
                "Pass --data-dir DIR or set FAQNAS_DATA to a directory holding them "
                "(library callers pass data_dir=...; the library does not read FAQNAS_DATA).",
            )
        )
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataError(
            invalid(
                "data_dir",
                f"an existing directory holding {expected}",
                str(root),
                "Pass --data-dir DIR or set FAQNAS_DATA to a directory holding them.",
            )
        )
    best_missing, best_dir = list(IDX_FILES), root
    for directory in _candidate_dirs(name, root):
        if not directory.is_dir():
            continue
        found = [_find_in(directory, base) for base in IDX_FILES]
        if all(p is not None for p in found):
            logger.debug("Reading %s IDX files from %s", name, directory)
            return tuple(p for p in found if p is not None)
        missing = [base for base, p in zip(IDX_FILES, found, strict=True) if p is None]
        if len(missing) < len(best_missing):
            best_missing, best_dir = missing, directory
    partial = (
        f" ({best_dir} holds some of them but lacks {', '.join(best_missing)})"
        if len(best_missing) < len(IDX_FILES)
        else ""
    )
    raise DataError(
        invalid(
            "data_dir",
            f"a directory holding {expected}",
            str(root),
            f"Pass --data-dir DIR or set FAQNAS_DATA to a directory holding them{partial}.",
        )
    )


def load_idx_dataset(name: str, data_dir: str | os.PathLike[str] | None) -> RawData:
    """Read MNIST or Fashion-MNIST from IDX files, train and t10k parts concatenated.

    Args:
        name: ``"mnist"`` or ``"fashion_mnist"``.
        data_dir: Where to look (see ``locate_idx_files``).

    Returns:
        ``RawData`` with ``uint8`` features of shape ``(n_train + n_test, rows * cols)``
        (70,000 x 784 for the real files, train part first), ``int64`` labels, the ten class
        names, and ``feature_scale=255.0`` so that pixels enter standardisation in [0, 1].

    Raises:
        DataError: If the files are missing or corrupt, image and label counts differ, the train
            and test images differ in size, or a label is outside 0..9.
    """
    paths = locate_idx_files(name, data_dir)
    parts_x: list[npt.NDArray[np.uint8]] = []
    parts_y: list[npt.NDArray[np.uint8]] = []
    for images_path, labels_path in ((paths[0], paths[1]), (paths[2], paths[3])):
        images = read_idx_images(images_path)
        labels = read_idx_labels(labels_path)
        if labels.shape[0] != images.shape[0]:
            raise DataError(
                invalid(
                    str(labels_path),
                    f"a label file with one label per image of {images_path.name} "
                    f"({images.shape[0]} labels)",
                    int(labels.shape[0]),
                    "The two files come from different downloads: fetch both again.",
                    what="file",
                )
            )
        parts_x.append(images)
        parts_y.append(labels)
    if parts_x[0].shape[1:] != parts_x[1].shape[1:]:
        raise DataError(
            invalid(
                str(paths[2]),
                f"a file of images the size of the train images "
                f"({'x'.join(str(d) for d in parts_x[0].shape[1:])})",
                "x".join(str(d) for d in parts_x[1].shape[1:]),
                "The files come from different datasets: fetch them again.",
                what="file",
            )
        )
    n_pixels = int(math.prod(parts_x[0].shape[1:]))
    features = np.concatenate([x.reshape(x.shape[0], n_pixels) for x in parts_x], axis=0)
    labels_u8 = np.concatenate(parts_y)
    class_names = _CLASS_NAMES[name]
    if labels_u8.size and int(labels_u8.max()) >= len(class_names):
        raise DataError(
            invalid(
                str(paths[1] if int(parts_y[0].max(initial=0)) >= len(class_names) else paths[3]),
                f"a label file with labels in 0..{len(class_names) - 1}",
                int(labels_u8.max()),
                _REFETCH,
                what="file",
            )
        )
    return RawData(
        name=name,
        features=features,
        labels=labels_u8.astype(np.int64),
        class_names=class_names,
        feature_scale=255.0,
    )
