#!/usr/bin/env python3
"""What the original Python ssmrandom's receiver pays per frame (docs/performance.md).

The seed's receiver parsed each datagram as JSON ({"v":"1.0","s":...,"d":...})
and base64-decoded "d". This times that work per 512-byte frame, and, for the
comparison with ssmrandom's signed frames, what verifying an Ed25519 signature
per frame costs in Python with the `cryptography` package, if it is installed.
Usage: python3 bench/seed/receiver.py [N]
"""
import base64
import json
import os
import sys
import timeit

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
data = os.urandom(512)
frame = json.dumps({"v": "1.0", "s": "producer.example.org", "d": base64.b64encode(data).decode()}).encode()


def seed_receive(b=frame):
    f = json.loads(b)
    if f.get("v") != "1.0":
        raise ValueError("version")
    return base64.b64decode(f["d"])


def per_call(stmt, number):
    best = min(timeit.repeat(stmt, number=number, repeat=5))
    return best / number * 1e6  # microseconds


print(f"python {sys.version.split()[0]}, {len(frame)}-byte v1.0 frame carrying 512 bytes")
print("| what (Python, one core) | µs/frame | frames/s |")
print("|---|---:|---:|")
us = per_call(seed_receive, n)
print(f"| seed receiver: json.loads + base64 decode | {us:.2f} | {1e6 / us:.0f} |")
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    msg = os.urandom(1095)  # the size of a signed frame's JWS signing input
    sig = key.sign(msg)
    vus = per_call(lambda: pub.verify(sig, msg), max(n // 20, 1000))
    print(f"| Ed25519 verify, 1095-byte input (cryptography, OpenSSL) | {vus:.2f} | {1e6 / vus:.0f} |")
    print(f"| seed receiver + Ed25519 verify | {us + vus:.2f} | {1e6 / (us + vus):.0f} |")
except ImportError:
    print("| Ed25519 verify | (the cryptography package is not installed) | |")
