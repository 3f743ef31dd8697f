"""environment.yml (for conda users) must list the same packages as pyproject.toml, with the same bounds.

Conda is not installed where the tests run, so this parses both files and compares them.
"""

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPI_TO_CONDA = {"torch": "pytorch", "matplotlib": "matplotlib-base"}  # conda-forge names that differ


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    assert m, spec
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _load():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return env, project


def test_structure():
    env, project = _load()
    assert env["channels"] == ["conda-forge", "nodefaults"]
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip_sections = [d for d in deps if isinstance(d, dict)]
    assert len(pip_sections) == 1 and pip_sections[0]["pip"] == ["-e ."]
    assert "pip" in conda and deps.index("pip") < deps.index(pip_sections[0]), "list pip before the pip: section"
    python = [d for d in conda if d.startswith("python")]
    assert len(python) == 1 and re.fullmatch(r"python=3\.1\d", python[0]), python
    minimum = re.search(r">=\s*3\.(\d+)", project["requires-python"]).group(1)
    assert int(python[0].split(".")[1]) >= int(minimum)


def test_same_packages_and_bounds_as_pyproject():
    env, project = _load()
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip")))
    wanted = {}
    for spec in project["dependencies"]:
        name, bound = _split(spec)
        wanted[PYPI_TO_CONDA.get(name, name)] = bound
    assert conda == wanted
