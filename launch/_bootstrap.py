"""Make `python launch/X.py` (and `deepspeed launch/X.py`) import the alba packages rather than the sibling scripts
named like them: Python puts the script's folder first on sys.path, where `pretrain.py` would shadow `pretrain/`."""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
sys.path.insert(0, os.path.dirname(here))
