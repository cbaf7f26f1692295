"""Folders that appear whole or not at all.

A report run and a converted export are written into a hidden sibling of their final
folder and renamed into place only when complete, so a crash, a full disk or Ctrl-C
never leaves a half-written folder where a user (or a scheduled job) would read it.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["new_folder"]


@contextmanager
def new_folder(final: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty hidden build folder next to ``final``; rename it to ``final`` on success.

    On any exception the build folder is removed and ``final`` is left as it was. An
    existing ``final`` is replaced only with ``overwrite``: the old folder is moved aside,
    the new one renamed in, then the old one deleted, so ``final`` is never missing.

    Raises
    ------
    FileExistsError
        ``final`` exists (on entry, or appeared meanwhile) and ``overwrite`` is false.
    """
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists; pass overwrite to replace it")
    final.parent.mkdir(parents=True, exist_ok=True)
    build = final.parent / f".{final.name}.{secrets.token_hex(4)}.partial"
    build.mkdir()  # a sibling: the rename into place stays on one file system, so it is atomic
    try:
        yield build
        if final.exists():
            if not overwrite:
                raise FileExistsError(f"{final} appeared while this was written; nothing is kept")
            old = final.parent / f".{final.name}.{secrets.token_hex(4)}.old"
            final.rename(old)
            build.rename(final)
            shutil.rmtree(old)
        else:
            build.rename(final)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
