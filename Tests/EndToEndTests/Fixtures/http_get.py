#!/usr/bin/env python3
"""Prints the body of GET URL (exit 1 with the reason when the request fails)."""
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        sys.stdout.write(response.read().decode())
except Exception as error:  # noqa: BLE001 - any failure is the answer
    sys.exit("GET %s failed: %s" % (sys.argv[1], error))
