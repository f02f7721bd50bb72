import pathlib
import sys

# The in-memory realm helper lives with the KDC tests.
sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "kdc"))
