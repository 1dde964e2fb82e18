"""One `frontdesk dev` per data folder: a second one on the same folder says so and exits,
instead of fighting the first over its ports and its SQLite files.

The running stack holds an exclusive `flock` on `<var_dir>/dev.lock` (with its pid written in
it, for the message) for as long as it runs; the kernel drops the lock when the process ends,
however it ends, so a stale file never blocks the next run.
"""

import fcntl
import os
from pathlib import Path
from typing import IO, Final

from frontdesk.devstack.errors import DevStackError

LOCK_FILE: Final = "dev.lock"


def claim_data_folder(var_dir: Path) -> IO[str]:
    """Lock `var_dir` for this process; keep the returned file open while the stack runs.

    Raises DevStackError naming the running stack's pid when another process holds the lock."""
    var_dir.mkdir(parents=True, exist_ok=True)
    handle = (var_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise DevStackError(
            f"another frontdesk dev (pid {holder}) is running on the data folder {var_dir.resolve()}; "
            "stop it first, or give this one another folder with FRONTDESK_VAR_DIR"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
