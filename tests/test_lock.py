"""requirements.lock pins every dependency pyproject.toml names, so `make install` (which installs
the lock, then the project with --no-deps) cannot miss one added to pyproject.toml alone."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_pins_every_dependency_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        requirement for extra in project["optional-dependencies"].values() for requirement in extra
    ]
    pinned = {
        _name(line) for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    missing = sorted({_name(requirement) for requirement in wanted} - pinned)
    assert not missing, f"in pyproject.toml but not in requirements.lock (run make lock): {missing}"
