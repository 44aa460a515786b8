"""A conversation's next turn reuses its last prompt's ids: the same ids as a full encode, fewer characters encoded."""

import random
from pathlib import Path

import pytest
from flama.llm.backends.encoding import RecentPrompts, boundary_tokens
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "and",
    "tells",
    "a",
    "story",
    "of",
    "élan",
    "日本",
    "naïve",
    "",
    "spaces\ttabs\nlines",
]


class Counting:
    """A tokenizer's encode that counts the characters it was given."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.characters = 0

    def __call__(self, text: str, special: bool) -> list[int]:
        self.characters += len(text)
        return list(self.tokenizer.encode(text, add_special_tokens=special).ids)


def _sentencepiece_like(post: str) -> Tokenizer:
    """A small BPE tokenizer trained here, with special tokens and the post-processor template ``post``.

    Its Metaspace pre-tokenization marks only a text's first word, as Llama 2's and Mistral's do.
    """
    special = [AddedToken(t, special=True, normalized=False) for t in ("<s>", "</s>", "[INST]", "[/INST]")]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=special, initial_alphabet=list("<>|[]/"))
    tokenizer.train_from_iterator([" ".join(WORDS)] * 20, trainer)
    tokens = [(token.content, tokenizer.token_to_id(token.content)) for token in special]
    tokenizer.post_processor = processors.TemplateProcessing(single=post, special_tokens=tokens)
    return tokenizer


def _render(turns: list[tuple[str, str]], begin: str, end: str) -> str:
    """A chat-template-like rendering: each turn between markers, the assistant's turn opened at the end."""
    return "".join(f"{begin}{role}\n{content}{end}\n" for role, content in turns) + f"{begin}assistant\n"


def _conversation(rng: random.Random, turns: int) -> list[tuple[str, str]]:
    spoken = []
    for index in range(turns):
        content = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 30)))
        spoken.append(("user" if index % 2 == 0 else "assistant", rng.choice(["", " ", "\n"]) + content))
    return spoken


@pytest.fixture(scope="module")
def demo(demo_model_dir: Path) -> Tokenizer:
    tokenizer: Tokenizer = AutoTokenizer.from_pretrained(demo_model_dir)._tokenizer
    return tokenizer


class TestCaseRecentPrompts:
    def test_a_next_turn_encodes_only_what_it_adds_to_the_same_ids(self, demo: Tokenizer) -> None:
        encode = Counting(demo)
        prompts = RecentPrompts(
            encode, boundary_tokens(demo.get_added_tokens_decoder().items(), "<|begin|><|end|>"), 8, 1 << 20
        )
        rng = random.Random(7)
        spoken = _conversation(rng, 2)
        for _ in range(20):
            text = _render(spoken, "<|begin|>", "<|end|>")
            before = encode.characters
            assert prompts.encode(text, True) == demo.encode(text).ids
            added = encode.characters - before
            spoken += _conversation(rng, 2)
        # The last turns encoded what they added since the turn before, not the whole conversation.
        assert added < len(text) / 4

    @pytest.mark.parametrize("seed", range(40))
    def test_random_texts_sharing_beginnings_give_a_full_encodes_ids(self, demo: Tokenizer, seed: int) -> None:
        rng = random.Random(seed)
        markers = ["<|begin|>", "<|end|>", "<think>", "</think>", "<|pad|>", "<|beg", "|>", "<", " ", "\n", "é"]
        pieces = [rng.choice([*markers, *WORDS]) for _ in range(rng.randint(1, 60))]
        prompts = RecentPrompts(
            Counting(demo), boundary_tokens(demo.get_added_tokens_decoder().items(), "".join(markers)), 4, 1 << 20
        )
        for _ in range(8):
            text = "".join(pieces)
            special = rng.random() < 0.5
            assert prompts.encode(text, special) == demo.encode(text, add_special_tokens=special).ids
            # Go on from a random point of this text.
            pieces = pieces[: rng.randint(0, len(pieces))] + [rng.choice([*markers, *WORDS]) for _ in range(5)]

    def test_a_tokenizer_that_treats_a_texts_start_apart_gives_the_same_ids(self) -> None:
        tokenizer = _sentencepiece_like("<s> $A")
        encode = Counting(tokenizer)
        boundaries = boundary_tokens(tokenizer.get_added_tokens_decoder().items(), "<s>[INST] [/INST]</s>")
        prompts = RecentPrompts(encode, boundaries, 8, 1 << 20)
        rng = random.Random(3)
        text = "<s>"
        for _ in range(12):
            text += f"[INST]{' '.join(rng.choice(WORDS) for _ in range(8))}[/INST]"
            for special in (False, True):
                assert prompts.encode(text, special) == tokenizer.encode(text, add_special_tokens=special).ids
            text += f"{' '.join(rng.choice(WORDS) for _ in range(8))}</s>"  # no space after the marker

    def test_a_post_processor_adding_ids_at_the_end_turns_reuse_off(self) -> None:
        tokenizer = _sentencepiece_like("<s> $A </s>")
        encode = Counting(tokenizer)
        boundaries = boundary_tokens(tokenizer.get_added_tokens_decoder().items(), "[INST] [/INST]")
        prompts = RecentPrompts(encode, boundaries, 8, 1 << 20)
        first, second = "[INST] hello [/INST] fox", "[INST] hello [/INST] fox [INST] dog [/INST]"
        assert prompts.encode(first, True) == tokenizer.encode(first).ids
        encode.characters = 0
        assert prompts.encode(second, True) == tokenizer.encode(second).ids
        assert encode.characters >= len(second)  # encoded whole

    def test_a_prompt_where_a_boundarys_id_also_comes_from_other_text_is_not_reused(self) -> None:
        # Lowercased, "<E>" is the text of the token "<e>", and the model has it as a word of its own: the same id.
        tokenizer = Tokenizer(models.BPE())
        tokenizer.normalizer = normalizers.Lowercase()
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tokenizer.train_from_iterator(["<e> fox <e> dog <e>"] * 50, trainers.BpeTrainer(vocab_size=200))
        tokenizer.add_special_tokens([AddedToken("<e>", special=True, normalized=False)])
        ident = tokenizer.token_to_id("<e>")
        assert ident is not None
        prompts = RecentPrompts(Counting(tokenizer), {"<e>": ident}, 8, 1 << 20)
        first = "fox <E> dog <e> fox"
        second = first + " <e> dog"
        assert prompts.encode(first, False) == tokenizer.encode(first).ids
        assert prompts.encode(second, False) == tokenizer.encode(second).ids

    @pytest.mark.parametrize(
        ("token", "others", "boundary"),
        [
            pytest.param(AddedToken("<e>", special=True, normalized=False), [], True, id="plain"),
            pytest.param(AddedToken("<e>", special=True, normalized=False, rstrip=True), [], False, id="rstrip"),
            pytest.param(AddedToken("<e>", special=True, normalized=False, lstrip=True), [], False, id="lstrip"),
            pytest.param(AddedToken("<e>", special=False, normalized=True), [], False, id="normalized"),
            pytest.param(AddedToken("<e>", special=True, normalized=False, single_word=True), [], False, id="word"),
            pytest.param(AddedToken("<e>", special=True, normalized=False), ["<e>x"], False, id="inside-another"),
            pytest.param(AddedToken("<e>", special=True, normalized=False), ["x<"], False, id="overlapped"),
            pytest.param(AddedToken("<e>", special=True, normalized=False), ["e>x"], False, id="overlapping"),
            pytest.param(AddedToken("aa", special=True, normalized=False), [], False, id="overlaps-itself"),
        ],
    )
    def test_boundaries_are_tokens_always_matched_where_their_text_is(
        self, token: AddedToken, others: list[str], boundary: bool
    ) -> None:
        tokenizer = Tokenizer(models.BPE())
        tokenizer.add_tokens([token, *[AddedToken(other, normalized=False) for other in others]])
        boundaries = boundary_tokens(tokenizer.get_added_tokens_decoder().items(), f"{token.content} and more")
        assert (token.content in boundaries) is boundary

    def test_only_the_chat_templates_tokens_are_boundaries(self, demo: Tokenizer) -> None:
        added = demo.get_added_tokens_decoder().items()
        assert set(boundary_tokens(added, "<|begin|>{{ role }}<|end|>")) == {"<|begin|>", "<|end|>"}
        assert boundary_tokens(added, None) == {}

    def test_the_kept_prompts_are_bounded_by_count_and_by_memory(self, demo: Tokenizer) -> None:
        prompts = RecentPrompts(
            Counting(demo), boundary_tokens(demo.get_added_tokens_decoder().items(), "<|end|>"), 3, 1 << 20
        )
        for index in range(10):
            prompts.encode(f"{index} fox<|end|>", True)
        assert len(prompts) == 3
        small = RecentPrompts(
            Counting(demo), boundary_tokens(demo.get_added_tokens_decoder().items(), "<|end|>"), 8, 4000
        )
        for index in range(10):
            small.encode(f"{index} {'fox ' * 100}<|end|>", True)
        assert 0 < small.nbytes <= 4000
        assert len(small) < 8
        small.encode("fox " * 2000, True)  # larger than the bound alone: not kept
        assert small.nbytes <= 4000

    def test_none_kept_encodes_every_prompt_whole(self, demo: Tokenizer) -> None:
        encode = Counting(demo)
        prompts = RecentPrompts(encode, boundary_tokens(demo.get_added_tokens_decoder().items(), "<|end|>"), 0, 1 << 20)
        for _ in range(3):
            assert prompts.encode("fox<|end|>dog", True) == demo.encode("fox<|end|>dog").ids
        assert encode.characters == 3 * len("fox<|end|>dog")
        assert len(prompts) == 0
