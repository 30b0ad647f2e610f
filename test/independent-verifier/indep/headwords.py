"""§11: head words, the first 44 bits of a hash as four BIP-39 English words."""

import hashlib
import os

_WORDLIST = os.path.join(os.path.dirname(__file__), "bip39-english.txt")
# SHA-256 of the BIP-39 English word list as published (bitcoin/bips, bip-0039/english.txt).
_WORDLIST_SHA256 = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"
_words = None


def wordlist():
    global _words
    if _words is None:
        with open(_WORDLIST, "rb") as f:
            raw = f.read()
        if hashlib.sha256(raw).hexdigest() != _WORDLIST_SHA256:
            raise RuntimeError("bip39-english.txt is not the BIP-39 English word list")
        _words = raw.decode("ascii").split("\n")[:2048]
    return _words


def head_words(hash_hex):
    """wordlist[(x >> (64 - 11k)) & 0x7ff] for k = 1..4, x = the first 16 hex characters."""
    x = int(hash_hex[:16], 16)
    words = wordlist()
    return [words[(x >> (64 - 11 * k)) & 0x7FF] for k in range(1, 5)]
