import pytest
from flama.llm.backends.lru import SizedLRU


@pytest.fixture
def two() -> SizedLRU[str, int]:
    """ "a" then "b", 10 bytes each, within 8 entries and 100 bytes."""
    lru: SizedLRU[str, int] = SizedLRU(max_entries=8, max_bytes=100)
    lru.put("a", 1, 10)
    lru.put("b", 2, 10)
    return lru


class TestCaseSizedLRU:
    def test_the_least_recently_used_go_past_the_entries_bound(self):
        lru: SizedLRU[str, int] = SizedLRU(max_entries=2, max_bytes=100)
        lru.put("a", 1, 10)
        lru.put("b", 2, 10)
        assert lru.get("a") == 1  # "b" is now the least recently used
        lru.put("c", 3, 10)

        assert list(lru.items()) == [("a", 1), ("c", 3)]
        assert lru.nbytes == 20

    def test_the_least_recently_used_go_past_the_bytes_bound(self):
        lru: SizedLRU[str, int] = SizedLRU(max_entries=8, max_bytes=100)
        for index, key in enumerate("abcd"):
            lru.put(key, index, 30)

        assert [key for key, _ in lru.items()] == ["b", "c", "d"]
        assert lru.nbytes == 90

    def test_a_value_over_the_bytes_bound_is_not_kept(self, two):
        assert two.put("b", 3, 101) is False
        assert "b" not in two  # what the key held is gone too
        assert list(two.items()) == [("a", 1)]
        assert two.nbytes == 10

    def test_a_key_put_again_is_replaced(self, two):
        assert two.put("a", 3, 40) is True
        assert list(two.items()) == [("b", 2), ("a", 3)]
        assert two.nbytes == 50

    @pytest.mark.parametrize("key", ["a", "missing"])
    def test_pop(self, key):
        lru: SizedLRU[str, int] = SizedLRU(max_entries=8, max_bytes=100)
        lru.put("a", 1, 10)

        assert lru.pop(key) == (1 if key == "a" else None)
        assert lru.get(key) is None
        assert (len(lru), lru.nbytes) == ((0, 0) if key == "a" else (1, 10))
