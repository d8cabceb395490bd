#!/usr/bin/env python3
"""The shipped rules 01-03 and expiry in plain Python with the standard json module.

    bench/ref-python-json.py STORE NOW
"""
import json
import sys

from reference_rules import parse_time, run


def dumps(store):
    return json.dumps(store, ensure_ascii=False, separators=(",", ":")).encode()


if __name__ == "__main__":
    changes = run(sys.argv[1], parse_time(sys.argv[2]), json.loads, dumps)
    print(f"{changes} changes")
