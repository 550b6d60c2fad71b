"""The data the program ships: the rules, the mail templates and the blank workbook templates.

They are edited at the top of the repository (rules/, mail_templates/, workbook_templates/); building a
wheel or an sdist copies them into the package as consolidator/_data/ (setup.py), where an installed
program finds them through importlib.resources. Run from a clone (an editable install) there is no
_data/ and the repository's own folders are used.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SHIPPED = ("rules", "mail_templates", "workbook_templates")
PACKAGED = "_data"
_CLONE = Path(__file__).resolve().parent.parent


def shipped_dir(name: str) -> Path:
    """The folder `name` (one of SHIPPED) as installed with the package, or else the clone's."""
    if name not in SHIPPED:
        raise ValueError(name)
    packaged = resources.files(__package__) / PACKAGED / name
    if packaged.is_dir():  # an installed wheel: files on disk, so the Traversable is a path
        return Path(str(packaged))
    return _CLONE / name


def industry_reference(rules_dir: Path | str) -> Path:
    """The GB/T 4754-2017 table a rules folder uses."""
    return Path(rules_dir) / "reference" / "gbt4754_2017.yaml"
