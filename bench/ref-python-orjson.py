#!/usr/bin/env python3
"""The shipped rules 01-03 and expiry in plain Python with orjson.

    bench/ref-python-orjson.py STORE NOW
"""
import sys

import orjson

from reference_rules import parse_time, run

if __name__ == "__main__":
    changes = run(sys.argv[1], parse_time(sys.argv[2]), orjson.loads, orjson.dumps)
    print(f"{changes} changes")
