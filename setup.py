"""Build hook: the folders edited at the top of the repository ship inside the package.

rules/, mail_templates/ and workbook_templates/ are copied into consolidator/_data/ of every wheel (and
of the wheel built from the sdist, which carries them through MANIFEST.in), where
consolidator.resources finds them. There is one copy in the repository; the package's is made here.
An editable install copies nothing: the program then reads the repository's folders.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("rules", "mail_templates", "workbook_templates")


class build_py_with_data(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "consolidator" / "_data"
        for name in SHIPPED:
            if (target / name).exists():
                shutil.rmtree(target / name)
            shutil.copytree(HERE / name, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "~$*", ".~lock*"))


setup(cmdclass={"build_py": build_py_with_data})
