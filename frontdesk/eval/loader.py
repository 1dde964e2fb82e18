"""Finding scenarios: the paths given on the command line, files or folders of *.yaml."""

from collections.abc import Sequence
from pathlib import Path

from frontdesk.eval.scenario import Scenario, ScenarioError, parse_scenario


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    """Every scenario file under `paths` (folders are searched recursively for *.yaml), sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob("*.yaml"))
            if not found:
                raise ScenarioError(f"{path}: the folder holds no *.yaml scenario")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or folder")
    return files


def load_scenarios(paths: Sequence[Path]) -> list[tuple[Path, Scenario]]:
    """Parse every scenario under `paths`; names must be unique (they key the report)."""
    loaded = [(file, parse_scenario(file)) for file in scenario_files(paths)]
    seen: dict[str, Path] = {}
    for file, scenario in loaded:
        if scenario.name in seen:
            raise ScenarioError(f"{file}: name: {scenario.name!r} is also the name of {seen[scenario.name]}")
        seen[scenario.name] = file
    return loaded
