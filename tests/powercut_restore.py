#!/usr/bin/env python3
"""powercut_restore.py DIR SHADOW — the "reboot" after a simulated power cut.

Rebuilds DIR (the event log's directory of a hearthd that ran with
tests/fault_shim.c in FAULT_SHIM_SHADOW mode and was SIGKILLed) from what
the shim recorded at the last fsync: every name of the last listing gets
the bytes of its file's last fsync (none if it was never synced); every
other regular file in DIR is removed. So exactly the unsynced bytes are
lost. Prints "kept N file(s), dropped M byte(s) not synced" (M: bytes a
file had beyond its synced copy, plus whole files no fsync recorded).
"""
import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: powercut_restore.py DIR SHADOW")
    directory, shadow = sys.argv[1], sys.argv[2]
    listing = {}
    with open(os.path.join(shadow, "listing")) as f:
        for line in f:
            key, _, name = line.rstrip("\n").partition(" ")
            if name:
                listing[name] = key
    before = {}
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and not os.path.islink(path):
            before[name] = os.path.getsize(path)
            os.unlink(path)
    dropped = 0
    for name, key in listing.items():
        source = os.path.join(shadow, key)
        data = b""
        if os.path.exists(source):
            with open(source, "rb") as f:
                data = f.read()
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
        dropped += max(0, before.get(name, 0) - len(data))
    dropped += sum(size for name, size in before.items() if name not in listing)
    print("kept %d file(s), dropped %d byte(s) not synced" % (len(listing), dropped))


if __name__ == "__main__":
    main()
