"""Binary data: struct records, zlib (one-shot and streaming), hashlib/hmac,
base64 family, int/bytes conversions, bytes/bytearray methods.

Checked against published test vectors, pure-Python CRC-32/Adler-32 and a
pure-Python record encoder, and round trips.
"""

import base64
import binascii
import hashlib
import hmac
import random
import struct
import zlib

from ._common import VerificationError, check, check_eq, scaled

NAME = "binary"
DESCRIPTION = "struct records, zlib streaming, hashlib/hmac vectors, base64, pure-Python CRC-32/Adler-32"

# Published test vectors (FIPS 180 / RFC 1321 / RFC 4231 / RFC 4648).
VECTORS = [
    ("md5", b"abc", "900150983cd24fb0d6963f7d28e17f72"),
    ("sha1", b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("sha256", b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("sha256", b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("sha512", b"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
]
HMAC_KEY = b"\x0b" * 20
HMAC_SHA256_HI_THERE = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"

RECORD = struct.Struct("!IhHqd?3s")  # network order, no padding


def crc32_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = crc32_table()


def my_crc32(data, crc=0):
    crc ^= 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def my_adler32(data):
    a, b = 1, 0
    for x in data:
        a = (a + x) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


def my_pack(rec):
    """Hand-written equivalent of RECORD.pack for the ints/bool/bytes fields."""
    u32, i16, u16, i64, f64, flag, tag = rec
    out = bytearray()
    out += u32.to_bytes(4, "big")
    out += (i16 & 0xFFFF).to_bytes(2, "big")
    out += u16.to_bytes(2, "big")
    out += (i64 & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    out += struct.pack("!d", f64)
    out.append(1 if flag else 0)
    out += tag
    return bytes(out)


def run(scale):
    rng = random.Random(65537)
    for name, data, digest in VECTORS:
        check_eq(hashlib.new(name, data).hexdigest(), digest, "%s test vector" % name)
    check_eq(hmac.new(HMAC_KEY, b"Hi There", hashlib.sha256).hexdigest(), HMAC_SHA256_HI_THERE, "HMAC-SHA256 RFC 4231")
    check_eq(base64.b64encode(b"foobar"), b"Zm9vYmFy", "base64 RFC 4648")
    check_eq(base64.b32encode(b"foobar"), b"MZXW6YTBOI======", "base32 RFC 4648")
    check_eq(zlib.crc32(b"123456789"), 0xCBF43926, "CRC-32 check value")
    check_eq(my_crc32(b"123456789"), 0xCBF43926, "own CRC-32 check value")

    rounds = scaled(25, scale)
    total = 0
    for r in range(rounds):
        # struct records.
        recs = [(rng.getrandbits(32), rng.randint(-32768, 32767), rng.getrandbits(16),
                 rng.randint(-2 ** 63, 2 ** 63 - 1), rng.uniform(-1e300, 1e300), rng.random() < 0.5,
                 bytes(rng.getrandbits(8) for _ in range(3))) for _ in range(3000)]
        packed = b"".join(RECORD.pack(*rec) for rec in recs)
        check_eq(len(packed), RECORD.size * len(recs), "packed size")
        if r % 4 == 0:
            check_eq(packed, b"".join(my_pack(rec) for rec in recs), "struct vs hand-written packing")
        back = list(RECORD.iter_unpack(packed))
        check_eq(back, recs, "iter_unpack round trip")
        buf = bytearray(RECORD.size * 10)
        for i in range(10):
            RECORD.pack_into(buf, i * RECORD.size, *recs[i])
        check_eq(bytes(buf), packed[:len(buf)], "pack_into")
        check_eq(struct.unpack_from("<Q", packed, 5)[0], int.from_bytes(packed[5:13], "little"), "unpack_from")

        # zlib and checksums.
        text = "".join("%d:%s;" % (i, rng.choice(["alpha", "beta", "gamma", "ünï"])) for i in range(6000)).encode("utf-8")
        blob = packed + text
        if r % 3 == 0:
            check_eq(zlib.crc32(blob), my_crc32(blob), "crc32 vs own")
        check_eq(binascii.crc32(blob), zlib.crc32(blob), "binascii.crc32")
        part = len(blob) // 3
        check_eq(zlib.crc32(blob[part:], zlib.crc32(blob[:part])), zlib.crc32(blob), "incremental crc32")
        if r % 3 == 1:
            check_eq(zlib.adler32(blob), my_adler32(blob), "adler32 vs own")
        for level in (1, 6, 9):
            comp = zlib.compress(blob, level)
            check_eq(zlib.decompress(comp), blob, "zlib level %d" % level)
        co = zlib.compressobj(6, zlib.DEFLATED, -15)  # raw deflate, streamed in chunks
        chunks = [co.compress(blob[i:i + 4096]) for i in range(0, len(blob), 4096)]
        chunks.append(co.flush())
        stream = b"".join(chunks)
        do = zlib.decompressobj(-15)
        out = bytearray()
        for i in range(0, len(stream), 1000):
            out += do.decompress(stream[i:i + 1000], 8192)
            while do.unconsumed_tail:
                out += do.decompress(do.unconsumed_tail, 8192)
        out += do.flush()
        check_eq(bytes(out), blob, "streamed raw deflate")
        check(len(zlib.compress(text)) < len(text) // 3, "text compresses")

        # hashing: incremental == one-shot, copy() forks state.
        for name in ("md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"):
            try:
                h = hashlib.new(name)
            except ValueError:
                continue
            for i in range(0, len(blob), 7919):
                h.update(blob[i:i + 7919])
            fork = h.copy()
            fork.update(b"tail")
            check_eq(h.hexdigest(), hashlib.new(name, blob).hexdigest(), "incremental %s" % name)
            check_eq(fork.hexdigest(), hashlib.new(name, blob + b"tail").hexdigest(), "copied %s" % name)
        mac = hmac.new(b"key%d" % r, blob, "sha256").digest()
        check(hmac.compare_digest(mac, hmac.new(b"key%d" % r, blob, "sha256").digest()), "hmac deterministic")
        check_eq(hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 50, 16), hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 50, 16), "pbkdf2")

        # base64 family and hex.
        sample = blob[:5000]
        for enc, dec in ((base64.b64encode, base64.b64decode), (base64.urlsafe_b64encode, base64.urlsafe_b64decode),
                         (base64.b32encode, base64.b32decode), (base64.b16encode, base64.b16decode),
                         (base64.b85encode, base64.b85decode), (base64.a85encode, base64.a85decode)):
            check_eq(dec(enc(sample)), sample, "%s round trip" % enc.__name__)
        check_eq(bytes.fromhex(sample.hex()), sample, "hex round trip")
        check_eq(binascii.unhexlify(binascii.hexlify(sample)), sample, "binascii hex")

        # ints <-> bytes, bytes methods.
        for _ in range(2000):
            n = rng.getrandbits(rng.randint(1, 300)) * rng.choice([1, -1])
            length = (n.bit_length() + 8) // 8
            check_eq(int.from_bytes(n.to_bytes(length, "little", signed=True), "little", signed=True), n, "int bytes")
        table = bytes.maketrans(b"abc", b"xyz")
        check_eq(b"aabbcc".translate(table, b"b"), b"xxzz", "bytes.translate")
        ba = bytearray(text)
        ba[0:5] = b"HELLO"
        check(ba.startswith(b"HELLO") and ba.count(b";") == 6000, "bytearray slicing/count")
        check_eq(len(text.split(b";")), 6001, "bytes split")
        total += len(blob)
    return "%d rounds, %.1f MiB processed" % (rounds, total / 1048576.0)
