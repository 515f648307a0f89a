"""Hostile caches and awkward database passwords (issue 13: "Caches are not trusted", "Secrets").

Cache cases tamper with an entry nbgeo wrote, as an attacker or an accident
would: each takes the path of a cache entry (``.npz``) and changes it in
place. None of them needs to know nbgeo's entry format: they work on whatever
arrays the entry holds, so they attack today's format and any later one.

Password cases are passwords that defeat naive masking (``/ # @ : ?``,
percent-encoding, quotes, spaces, non-ASCII), and :func:`secret_forms` lists
every spelling of a password that must never appear in anything nbgeo
prints, logs, raises, writes or names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np

# ---- caches --------------------------------------------------------------------------------------------------


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def plant_shorter_roads(path: Path) -> None:
    """The attack of the issue: the same entry with every road 1,000 times shorter (everything is 'covered')."""
    arrays = _arrays(path)
    arrays["data"] = arrays["data"] * 1e-3
    np.savez_compressed(path, **arrays)


def truncate(path: Path) -> None:
    """A half-written entry (a full disk, a killed copy): the first 1,000 bytes."""
    path.write_bytes(path.read_bytes()[:1000])


def flip_bytes(path: Path) -> None:
    """Bit rot in the middle of the entry."""
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


class _Trap:
    """Unpickling it creates the file named ``TRAP_FILE`` (a stand-in for running any code)."""

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str, str]]:
        return open, (os.environ.get("NBGEO_TEST_TRAP_FILE", "/nonexistent/trap"), "w")


def add_pickle(path: Path) -> None:
    """The entry's road lengths replaced by a pickled object whose loading creates a file.

    The trap file is ``$NBGEO_TEST_TRAP_FILE`` at the time of *pickling*
    (it is stored in the pickle).
    """
    arrays: dict[str, object] = dict(_arrays(path))
    arrays["data"] = np.array([_Trap()], dtype=object)
    np.savez(path, **arrays)  # type: ignore[arg-type]


def symlink_elsewhere(path: Path) -> None:
    """The entry replaced by a symlink to a planted copy outside the cache folder."""
    planted = path.parent.parent.parent / f"planted-{path.name}"
    planted.write_bytes(path.read_bytes())
    plant_shorter_roads(planted)
    path.unlink()
    path.symlink_to(planted)


#: Tampering of an existing entry, by name.
CACHE_TAMPERING: dict[str, Callable[[Path], None]] = {
    "planted": plant_shorter_roads,
    "truncated": truncate,
    "flipped": flip_bytes,
    "pickle": add_pickle,
    "symlink": symlink_elsewhere,
}


# ---- secrets --------------------------------------------------------------------------------------------------

#: Passwords that broke, or could break, masking that splits URLs naively. Each has a distinctive core so that
#: finding any spelling of it in an output means a leak, not a coincidence.
AWKWARD_PASSWORDS: tuple[str, ...] = (
    "Qz/sl#ash",
    "Qz#hash?q",
    "Qz@at:col",
    "Qz:co:lon",
    "Qz?que=ry&x",
    "Qz%2Fpct%40enc",
    "Qz'quote\\bs",
    "Qz sp ace",
    "Qz密码口令abc",
)


def secret_forms(password: str) -> set[str]:
    """Every spelling of a password that must not appear in an output: raw, percent-encoded, decoded.

    All are at least 8 characters long, so that a hit is a leak, not a chance match in base64 or text.
    """
    forms = {password, quote(password, safe=""), quote(password), unquote(password), password.replace("\\", ""),
             json.dumps(password)[1:-1], json.dumps(password, ensure_ascii=False)[1:-1]}
    return {form for form in forms if len(form) >= 8}


def url_with(password: str, *, port: int, user: str = "awkward", host: str = "127.0.0.1",
             dbname: str = "nbgeo_test", schema: str | None = None, encode: bool = True) -> str:
    """A ``postgresql://`` URL holding ``password``, percent-encoded (the correct form) or raw."""
    secret = quote(password, safe="") if encode else password
    query = f"?schema={schema}" if schema else ""
    return f"postgresql://{user}:{secret}@{host}:{port}/{dbname}{query}"


def leaks(text: str, password: str) -> list[str]:
    """The spellings of ``password`` found in ``text`` (empty: no leak)."""
    return sorted(form for form in secret_forms(password) if form in text)


def tree_leaks(root: Path, password: str) -> list[str]:
    """Every file or folder under ``root`` whose name or content holds a spelling of ``password``."""
    found = []
    for path in [root, *root.rglob("*")]:
        if leaks(str(path.relative_to(root.parent)), password):
            found.append(f"name: {path}")
        elif path.is_file() and not path.is_symlink():
            text = path.read_bytes().decode("utf-8", errors="replace")
            hit = leaks(text, password)
            if hit:
                found.append(f"content of {path}: {hit}")
    return found
