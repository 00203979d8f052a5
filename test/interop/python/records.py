# Deterministic test records shared by the Python interop drivers. The TypeScript side
# (test/interop/native-support.ts, expectedRecord) must generate exactly the same ones.
import hashlib
import json
import sys

# Values longer than this are reported by length and SHA-256 only.
BIG_VALUE_BYTES = 65536


def record(prefix, i, headers=True):
    """Record number i of a run: key, value and headers (list of (str, bytes))."""
    key = f"{prefix}-key-{i}".encode()
    # Values vary in length and repeat text, so every codec has something to compress.
    value = (f"{prefix}-value-{i}-" + "abcdefghij" * (i % 17)).encode()
    hdrs = [("i", str(i).encode()), ("src", prefix.encode())] if headers else None
    return key, value, hdrs


def emit(result):
    """The driver's answer: one JSON line, the last line of stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def job_from_argv():
    return json.loads(sys.argv[1])


def write_record_line(out, partition, offset, timestamp, key, value, headers):
    """One consumed record as a JSON line (keys and values are UTF-8 text in these tests)."""
    out.write(
        json.dumps(
            {
                "p": partition,
                "o": offset,
                "ts": timestamp,
                "k": None if key is None else key.decode(),
                "v": None if value is None or len(value) > BIG_VALUE_BYTES else value.decode(),
                "vlen": 0 if value is None else len(value),
                "vsha": hashlib.sha256(value).hexdigest() if value is not None and len(value) > BIG_VALUE_BYTES else None,
                "h": [[hk, None if hv is None else hv.decode()] for hk, hv in (headers or [])],
            }
        )
        + "\n"
    )


def big_value(size):
    """A deterministic incompressible-looking value of `size` bytes: SHA-256 of 'big-<j>' for j = 0, 1, ..."""
    chunks = []
    total = 0
    j = 0
    while total < size:
        d = hashlib.sha256(f"big-{j}".encode()).digest()
        chunks.append(d)
        total += len(d)
        j += 1
    return b"".join(chunks)[:size]


# Records at the edges of the format, in this order (mirrored by EDGE_RECORDS in native-support.ts):
# null and empty keys and values, multi-byte UTF-8, null and repeated header values.
EDGE_RECORDS = [
    (b"tombstone", None, []),
    (None, b"no key", []),
    (b"", b"", []),
    ("ключ-🔑".encode(), "значение-✓".encode(), [("ü", "ä".encode())]),
    (b"null header", b"v", [("h", None)]),
    (b"repeated headers", b"v", [("dup", b"1"), ("dup", b"2"), ("empty", b"")]),
]
