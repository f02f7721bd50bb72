import pathlib
import sys

# memory_realm.py and loop_server.py are test helpers next to this file.
sys.path.insert(0, str(pathlib.Path(__file__).parent))
