"""`python -m tools.bench` (also `python -m csi_metrics bench`): see tools/bench/benchmark.py."""

import argparse
import sys

from tools.bench import benchmark

parser = argparse.ArgumentParser(prog="python -m tools.bench", description=benchmark.__doc__.splitlines()[0])
benchmark.add_arguments(parser)
sys.exit(benchmark.run(parser.parse_args()))
