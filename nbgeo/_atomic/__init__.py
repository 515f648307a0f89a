"""Atomic output: one file, one folder, or a command's whole set of outputs, replaced whole or not at all.

A killed process, a full disk or a failure half-way leaves the previous
outputs as they were (``../shared/RELIABILITY.md`` checklist 67-68).

One file: :func:`atomic_path`
    The file is written to a temporary name beside it, fsynced and renamed
    over the target (``os.replace``); the folder is fsynced so the rename
    survives a power cut. :func:`atomic_files` does this for a few files at
    once (``nbgeo map --out M.html --png M.png``): every file is complete in
    its temporary before the first rename, so a failing PNG leaves the old
    HTML and PNG as they were.

A folder written whole: :func:`atomic_dir`
    Used for a dataset folder (``io.save_dataset``): the new folder is built
    beside the old one and takes its place (see "the swap" below).

A set of outputs in ``--out``: :func:`output_set`
    ``nbgeo audit --out OUT`` writes ``audit.json``, ``audit.html``,
    ``audit.md``; ``rules``, ``coverage``, ``site``, ``compare``, ``validate
    --out`` and :func:`nbgeo.report.write_report` each write their own set.
    A set is built complete in a staging folder beside ``OUT`` (same
    filesystem) and then published in one step. ``OUT`` holds a small
    manifest, ``.nbgeo-outputs.json``, naming for each command the files it
    wrote there, with the nbgeo version and a fingerprint of each file (size
    and modification time). The next run of the same command replaces that
    set as a whole: files of the old set that the new one does not write
    (last run's ``audit.md`` when this run asks for HTML only) are removed,
    and every other file in ``OUT`` is kept untouched. A listed file whose
    fingerprint no longer matches (a planner edited or replaced it) is no
    longer nbgeo's: it is kept, like any other file of the user's.

The swap
--------
When everything in ``OUT`` is nbgeo's own output (or ``OUT`` does not exist
yet), the staging folder is given all of ``OUT``'s content (the other
commands' nbgeo outputs are hard-linked, or copied where links are not
supported; never a file of the user's) and the two folders trade places:

* Linux: ``renameat2(RENAME_EXCHANGE)`` swaps the two folders in one atomic
  step; the old set, now under the staging name, is then deleted.
* Elsewhere (Windows, macOS, filesystems without the exchange): ``OUT`` is
  renamed aside (``.OUT.nbgeo-old-*``) and the staging folder renamed to
  ``OUT``. A crash between those two renames leaves no ``OUT`` but the old
  set complete under its aside name; the next run puts it back before
  anything else.

A crash at any instant therefore leaves the old complete set or the new
complete set in ``OUT``, never a mix, plus at most a clearly named leftover
(``.OUT.nbgeo-new-*`` or ``-old-*``) that the next run removes.

When ``OUT`` holds files nbgeo did not write, nbgeo may not rename, move or
overwrite them, so the folder cannot trade places (that would move them):
the set is published file by file instead. Before the first move, the
manifest records the pending commit (the new files, the stale ones, and
where the earlier versions are put aside); each earlier output is moved
aside and the new one moved in (renames only: no data is copied, so the
window is a few metadata operations long, and SIGINT and SIGTERM are held
until it ends); the manifest, rewritten without the pending entry, is the
commit point. Only a power cut or SIGKILL inside that window can leave a mix
on disk, and the manifest then says so: the next run that writes to ``OUT``
rolls it back to the old set first. The same per-file commit is used when
the folder swap is not possible: ``OUT`` is a mount point or its parent is
not writable (the staging folder then sits inside ``OUT``, as
``.nbgeo-new-*``), this process's working directory is inside ``OUT`` (a
swap would leave it in the deleted folder), the new folder could not be
given ``OUT``'s owner, or Windows refuses to rename a folder in use.
A shell whose working directory is inside a swapped ``OUT`` still sees the
old, deleted folder: ``cd`` into it again.

Locks
-----
Every writer of a target holds an advisory lock on a file beside it,
``.NAME.nbgeo-lock`` (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on
Windows), from before it looks at ``OUT`` until its set is published, so two
runs writing the same ``OUT`` never interleave: the second waits (logging
who holds the lock) and then replaces the first one's set whole, or after
:data:`LOCK_TIMEOUT` seconds fails with ``E-IO-LOCKED`` (exit 2). Leftovers
of killed runs are only removed by a lock holder, which knows that no other
writer of that target is running: this works across hosts and on Windows,
where process ids cannot be checked. The lock file is removed when released
(on Windows it stays when another process has it open; it is harmless).

Signals and messages
--------------------
SIGINT and SIGTERM arriving while a set is published are held until it is
done and then delivered, so an interruption never splits a set; the
outputs of a run are recorded (:func:`tracking`), and :func:`describe` says
in words what was and was not written, for the command line's message.

Modules
-------
:mod:`nbgeo._atomic.fs`
    Names, errors, small steps, and :func:`check_overwrite`, the one
    overwrite check every writer calls (``E-IO-EXISTS``).
:mod:`nbgeo._atomic.locks`
    The advisory locks.
:mod:`nbgeo._atomic.signals`
    Signals held while publishing; :func:`tracking`, :func:`describe`.
:mod:`nbgeo._atomic.replace`
    One file, a few files, a folder: :func:`atomic_path`,
    :func:`atomic_files`, :func:`atomic_dir`, :func:`write_text`.
:mod:`nbgeo._atomic.outputs`
    Output sets: :func:`check_outputs`, :func:`output_set`.

It imports nothing of nbgeo but :mod:`nbgeo.errors`, so every writer
(renderers, io, the CLI) can use it.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with output_set(d / "out", command="demo") as stage:
...     _ = (stage / "a.txt").write_text("first")
...     _ = (stage / "b.txt").write_text("first")
>>> (d / "out" / "notes.txt").write_text("the planner's own file")
22
>>> with output_set(d / "out", command="demo", overwrite=True) as stage:
...     _ = (stage / "a.txt").write_text("second")
>>> sorted(p.name for p in (d / "out").iterdir())
['.nbgeo-outputs.json', 'a.txt', 'notes.txt']
>>> sorted(p.name for p in d.iterdir())
['out']
"""

from __future__ import annotations

from .fs import MANIFEST, check_overwrite
from .locks import LOCK_TIMEOUT
from .outputs import check_outputs, output_set
from .replace import atomic_dir, atomic_files, atomic_path, write_bytes, write_text
from .signals import describe, recording, tracking

__all__ = ["LOCK_TIMEOUT", "MANIFEST", "atomic_dir", "atomic_files", "atomic_path", "check_outputs", "check_overwrite",
           "describe", "output_set", "recording", "tracking", "write_bytes", "write_text"]
