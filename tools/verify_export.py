#!/usr/bin/env python3
"""Check a jisseki export with nothing but Python's standard library.

    python3 tools/verify_export.py export.jsonl

Every line is one event. Its hash is SHA-256 over the previous event's 32-byte
digest (32 zero bytes before the first event) followed by the event's
canonical bytes: the line's JSON object without "hash", keys sorted, no
spaces, UTF-8 (docs/format.md). Exit 0 prints the number of events and the
head; exit 1 names the first bad seq.
"""
import hashlib
import json
import sys


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def main(path):
    prev, seq = bytes(32), 0
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            claimed = obj.pop("hash", None)
            seq += 1
            if obj.get("seq") != seq:
                return fail(f"line {lineno}: seq {obj.get('seq')} where {seq} was expected", seq)
            digest = hashlib.sha256(prev + canonical(obj)).digest()
            if claimed != "sha256:" + digest.hex():
                return fail(f"line {lineno}: hash does not match the content", seq)
            prev = digest
    print(f"ok: {seq} events, head sha256:{prev.hex()}")
    return 0


def fail(why, seq):
    print(f"BROKEN at seq {seq}: {why}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
