"""Seeded, platform-independent pseudo-randomness as pure functions of integers."""

from __future__ import annotations

import hashlib

M32 = 0xFFFFFFFF


def stream_key(seed: int, *names: object) -> int:
    """A 32-bit key naming one random stream (stable across processes, unlike ``hash()``)."""
    text = ":".join(str(n) for n in (seed, *names)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "little")


def uniform(key: int, index: int) -> float:
    """Uniform [0, 1) for (stream, integer index): a 32-bit integer mix (murmur3 finaliser)."""
    h = ((index * 0x9E3779B1) ^ key) & M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h / 4294967296.0
