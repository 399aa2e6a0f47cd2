#!/usr/bin/env python3
"""verify_export.py — check a `hearthctl events export` file with libsodium
alone (through ctypes) and the standard library: no Hearth code.

For every line: Ed25519 verify (signature, prefix || body, public_key), the
author NodeID is "ed25519:" + base64url (no padding) of public_key, and
hash = BLAKE2b-256 (body || signature). Prints "N verified" and exits 0,
or names the first bad line and exits 1.

    verify_export.py FILE [--expect N]
"""
import base64
import ctypes
import ctypes.util
import json
import sys

sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert sodium.sodium_init() >= 0


def verify(line):
    d = json.loads(line)
    s = d["signed"]
    prefix, body = base64.b64decode(s["prefix"], validate=True), base64.b64decode(s["body"], validate=True)
    sig, pk = base64.b64decode(s["signature"], validate=True), base64.b64decode(s["public_key"], validate=True)
    if prefix != b"hearth/event/v1\0" or len(sig) != 64 or len(pk) != 32:
        return "bad prefix or sizes"
    msg = prefix + body
    if sodium.crypto_sign_verify_detached(sig, msg, ctypes.c_ulonglong(len(msg)), pk) != 0:
        return "signature does not verify"
    if d["author"] != "ed25519:" + base64.urlsafe_b64encode(pk).decode().rstrip("="):
        return "author is not the signing key"
    h = ctypes.create_string_buffer(32)
    both = body + sig
    sodium.crypto_generichash(h, ctypes.c_size_t(32), both, ctypes.c_ulonglong(len(both)), None, ctypes.c_size_t(0))
    if h.raw.hex() != d["hash"]:
        return "hash is not BLAKE2b-256 (body || signature)"
    if not isinstance(d["wall_clock_ms"], int) or "." not in d["wall_clock"]:
        return "time is not full precision"
    return None


def main():
    path = sys.argv[1]
    expect = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--expect" else None
    n = 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            problem = verify(line)
            if problem:
                print("line %d: %s" % (number, problem))
                return 1
            n += 1
    if expect is not None and n != expect:
        print("%d lines, expected %d" % (n, expect))
        return 1
    print("%d verified" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
