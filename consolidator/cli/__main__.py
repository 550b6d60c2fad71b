"""python -m consolidator.cli"""

from . import main

main()
