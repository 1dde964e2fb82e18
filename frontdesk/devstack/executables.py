"""Finding the programs the embedded stack runs: they are installed next to this interpreter."""

import sys
from pathlib import Path

from frontdesk.devstack.errors import DevStackError


def installed_executable(name: str, package: str) -> Path:
    """The executable `name` that `package` installs beside the running Python, or a clear error."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        raise DevStackError(
            f"{name} is not at {path}; it is installed by the {package!r} package "
            "(run `make install` to install the project's dependencies)"
        )
    return path
