"""Seed derivation: every stream of randomness is keyed by what it describes, never by call order."""

from __future__ import annotations

import hashlib
import random


def _digest(seed: int, parts: tuple, size: int) -> bytes:
    key = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return hashlib.blake2b(key, digest_size=size).digest()


def rng(seed: int, *parts) -> random.Random:
    """A Random for one (month, unit, feed, …): files do not depend on generation order."""
    return random.Random(int.from_bytes(_digest(seed, parts, 16), "big"))


def bits(seed: int, *parts) -> int:
    """512 cheap random bits; per-subject properties are read off these (seeding a Random costs 10×)."""
    return int.from_bytes(_digest(seed, parts, 64), "big")


def unit_float(seed: int, *parts) -> float:
    return int.from_bytes(_digest(seed, parts, 8), "big") / 2**64


class Bits:
    """Draw small choices off a big integer: each draw consumes log2(n) bits."""

    __slots__ = ("x",)

    def __init__(self, x: int):
        self.x = x

    def below(self, n: int) -> int:
        self.x, r = divmod(self.x, n)
        return r

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def chance(self, p: float) -> bool:
        return self.below(1_000_000) < p * 1_000_000

    def unit(self) -> float:
        return self.below(1 << 30) / (1 << 30)
