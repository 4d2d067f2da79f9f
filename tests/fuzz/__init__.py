"""Fuzzing what ops staff and owners type: plans, rosters, configs and `ivr simulate`'s traffic
files, mutated from a seed corpus.

    .venv/bin/python -m tests.fuzz --cases 20000          # a long run; prints the summary
    .venv/bin/python -m tests.fuzz --case 1234 --show     # replay one case, print its input

The corpus is the shipped files (dialplans/, agents/, config/ivr.yaml, config/traffic.yaml),
the test plans and rosters, and tests/fuzz/corpus/ (every crasher found so far, as a file).
CI runs a few thousand cases in tests/fuzz/test_fuzz.py.
"""
