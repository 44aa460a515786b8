import hashlib
import os

import pytest
from flama.models.checksums import Digest


class TestCaseDigest:
    @pytest.mark.parametrize(
        "sizes",
        [
            pytest.param([], id="empty"),
            pytest.param([10, 20, 30], id="small-inline"),
            pytest.param([1 << 20, 5, 1 << 17, 3, 1 << 20], id="large-and-small-interleaved"),
        ],
    )
    def test_matches_hashlib_in_order(self, sizes):
        chunks = [os.urandom(size) for size in sizes]
        digest = Digest()
        for chunk in chunks:
            digest.update(chunk)
        assert digest.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()

    def test_reading_the_digest_twice_and_going_on(self):
        first, second = os.urandom(1 << 18), os.urandom(1 << 18)
        digest = Digest()
        digest.update(first)
        assert digest.hexdigest() == hashlib.sha256(first).hexdigest()
        digest.update(second)
        assert digest.hexdigest() == hashlib.sha256(first + second).hexdigest()
