"""Workloads: the prompts a run sends, and how their lengths were obtained.

- ``random``: prompts of ``input_len`` tokens. With a tokenizer for the model
  available locally (``--tokenizer PATH``, the model's own folder, or the
  Hugging Face cache — never a download) the length is exact: random token ids
  are decoded and re-encoded until the count is right, as ``vllm bench serve``
  does. Without one, prompts are built from common English words (~1 token
  each with BPE tokenizers): approximate, and the workload says so.
- ``shared-prefix``: ``num_prefixes`` prefixes of ``prefix_len`` tokens, each
  followed by distinct suffixes making up ``input_len`` in total (N × M
  requests), for prefix-caching runs.

Output length is ``max_tokens = output_len``; with ``ignore_eos`` the engine
(vLLM, SGLang) keeps generating past EOS so every request yields that many.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DATASETS = ("random", "shared-prefix")

# Scenario presets (``llmops bench --scenario``, the Load test tab's Preset picker). Each sets
# some workload/load options; explicit options win. The first four are the two scenarios of the
# published vLLM-vs-SGLang comparisons (sequential single requests; concurrent requests), each
# with short and long prompts. "chat" sends through /v1/chat/completions; "long-prompt" is a
# RAG-like shape (long context, short answer); "shared-prefix" is the standard bake-off suite's
# shared-prefix scenario (llmops_tui/suites/standard.toml).
SCENARIOS: dict[str, dict[str, int | str]] = {
    "sequential-short": {"concurrency": 1, "input_len": 128, "output_len": 128, "num_requests": 32},
    "sequential-long": {"concurrency": 1, "input_len": 2048, "output_len": 256, "num_requests": 16},
    "concurrent-short": {
        "concurrency": 64,
        "input_len": 128,
        "output_len": 128,
        "num_requests": 512,
    },
    "concurrent-long": {
        "concurrency": 64,
        "input_len": 2048,
        "output_len": 256,
        "num_requests": 256,
    },
    "chat": {
        "endpoint": "chat",
        "concurrency": 16,
        "input_len": 256,
        "output_len": 256,
        "num_requests": 200,
    },
    "long-prompt": {"concurrency": 8, "input_len": 4096, "output_len": 128, "num_requests": 64},
    "shared-prefix": {
        "dataset": "shared-prefix",
        "num_prefixes": 4,
        "prefix_len": 896,
        "input_len": 1024,
        "output_len": 128,
        "num_requests": 200,
        "concurrency": 10,
    },
}
SCENARIO_NOTES: dict[str, str] = {
    "sequential-short": "one request at a time, short prompts",
    "sequential-long": "one request at a time, long prompts",
    "concurrent-short": "64 in flight, short prompts",
    "concurrent-long": "64 in flight, long prompts",
    "chat": "chat endpoint, 16 in flight",
    "long-prompt": "RAG-like: 4k-token context, short answers",
    "shared-prefix": "4 shared 896-token prefixes (prefix caching)",
}

# Short, common words: one BPE token each (with their leading space) in most vocabularies.
_WORD_TEXT = (
    "the of and to in is it you that he was for on are as with his they at be this have from "
    "or one had by word but not what all were we when your can said there use an each which "
    "she do how their if will up other about out many then them these so some her would make "
    "like him into time has look two more write go see number no way could people my than "
    "first water been call who oil its now find long down day did get come made may part"
)
WORDS = tuple(_WORD_TEXT.split())


class TokenizerError(Exception):
    pass


@dataclass
class Tokenizer:
    """A local tokenizer: encode text to ids, decode ids to text, and its vocabulary size."""

    name: str
    encode: Callable[[str], list[int]]
    decode: Callable[[list[int]], str]
    vocab_size: int
    special_ids: frozenset[int] = frozenset()

    def count(self, text: str) -> int:
        return len(self.encode(text))


def load_tokenizer(path_or_name: str | None) -> Tokenizer | None:
    """A tokenizer from a local file/folder or the HF cache; None when there is none locally.

    Raises TokenizerError when ``path_or_name`` is an existing path that cannot be loaded.
    """
    if not path_or_name:
        return None
    path = Path(path_or_name).expanduser()
    candidates: list[Path] = []
    if path.is_file():
        candidates.append(path)
    elif path.is_dir():
        candidates.append(path / "tokenizer.json")
    else:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(path_or_name, "tokenizer.json")
            if isinstance(cached, str):
                candidates.append(Path(cached))
        except Exception:  # not a repo id, or no hub: no local tokenizer
            pass
    for cand in candidates:
        if cand.name.endswith(".json") and cand.exists():
            tok = _from_tokenizers(cand)
            if tok is not None:
                return tok
    if path.is_dir():
        tok = _from_transformers(path)
        if tok is not None:
            return tok
        raise TokenizerError(
            f"{path}: no usable tokenizer (needs a tokenizer.json and the `tokenizers` package, "
            "or transformers for other formats)"
        )
    if path.is_file():
        raise TokenizerError(f"{path}: cannot load it as a tokenizer (expected a tokenizer.json)")
    return None


def _from_tokenizers(file: Path) -> Tokenizer | None:
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError:
        return _from_transformers(file.parent)
    try:
        tok = HFTokenizer.from_file(str(file))
    except Exception as exc:
        raise TokenizerError(f"{file}: cannot load tokenizer: {exc}") from exc
    special = frozenset(
        i for t, i in tok.get_vocab(with_added_tokens=True).items() if _is_special(tok, t)
    )
    return Tokenizer(
        name=str(file),
        encode=lambda s: tok.encode(s, add_special_tokens=False).ids,
        decode=lambda ids: tok.decode(ids, skip_special_tokens=False),
        vocab_size=tok.get_vocab_size(with_added_tokens=False),
        special_ids=special,
    )


def _is_special(tok: Any, token: str) -> bool:
    return token.startswith("<") and token.endswith(">") and len(token) > 2


def _from_transformers(folder: Path) -> Tokenizer | None:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None
    try:
        tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception:
        return None
    return Tokenizer(
        name=str(folder),
        encode=lambda s: tok.encode(s, add_special_tokens=False),
        decode=lambda ids: tok.decode(ids),
        vocab_size=tok.vocab_size,
        special_ids=frozenset(tok.all_special_ids),
    )


@dataclass
class Prompt:
    text: str
    input_len: int  # tokens, exact or estimated (see WorkloadSpec / Workload.exact)
    output_len: int


@dataclass
class WorkloadSpec:
    """What to send; stored with every run."""

    dataset: str = "random"
    num_requests: int = 100
    input_len: int = 512
    output_len: int = 128
    ignore_eos: bool = True
    endpoint: str = "completions"
    num_prefixes: int = 4
    prefix_len: int = 256
    seed: int = 0
    tokenizer: str | None = None
    range_ratio: float = 0.0  # lengths drawn uniformly in [len*(1-r), len*(1+r)]
    temperature: float = 0.0  # sampling temperature sent with every request

    def validate(self) -> list[str]:
        errs = []
        if self.dataset not in DATASETS:
            errs.append(f"dataset: {self.dataset!r} is not one of {', '.join(DATASETS)}")
        if self.endpoint not in ("completions", "chat"):
            errs.append(f"endpoint: {self.endpoint!r} is not completions or chat")
        if self.num_requests < 1:
            errs.append(f"num_requests: {self.num_requests} must be ≥ 1")
        if self.input_len < 1:
            errs.append(f"input_len: {self.input_len} must be ≥ 1")
        if self.output_len < 1:
            errs.append(f"output_len: {self.output_len} must be ≥ 1")
        if not 0 <= self.temperature <= 2:
            errs.append(f"temperature: {self.temperature} must be in [0, 2]")
        if not 0 <= self.range_ratio < 1:
            errs.append(f"range_ratio: {self.range_ratio} must be in [0, 1)")
        if self.dataset == "shared-prefix":
            if self.num_prefixes < 1:
                errs.append(f"num_prefixes: {self.num_prefixes} must be ≥ 1")
            if not 0 < self.prefix_len < self.input_len:
                errs.append(
                    f"prefix_len: {self.prefix_len} must be between 1 and input_len-1 "
                    f"({self.input_len - 1})"
                )
        return errs


@dataclass
class Workload:
    spec: WorkloadSpec
    prompts: list[Prompt]
    exact: bool  # input lengths are exact token counts (a tokenizer was used)
    tokenizer_name: str | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        d = asdict(self.spec)
        d["input_len_exact"] = self.exact
        d["tokenizer_used"] = self.tokenizer_name
        d["mean_prompt_len"] = (
            sum(p.input_len for p in self.prompts) / len(self.prompts) if self.prompts else 0
        )
        d["notes"] = self.notes
        return d


class _TextMaker:
    """Makes text of an exact token length (tokenizer) or an approximate one (words).

    With a tokenizer, prompts are made of "clean" tokens: single tokens that
    decode to a space followed by letters or digits and encode back to
    themselves. With the usual pre-tokenizers (split on spaces) such a string
    of them re-encodes to exactly as many tokens. Vocabularies without enough
    of them fall back to decoding random ids and trimming (``vllm bench
    serve``'s way), which is not always exact; the count is then measured.
    """

    CLEAN_WANTED = 2000
    SCAN_LIMIT = 40000

    def __init__(self, tok: Tokenizer | None, rng: random.Random):
        self.tok = tok
        self.rng = rng
        self.clean: list[str] = []
        if tok is not None:
            self.ids = [i for i in range(tok.vocab_size) if i not in tok.special_ids]
            order = list(self.ids)
            random.Random(0).shuffle(order)
            for i in order[: self.SCAN_LIMIT]:
                piece = tok.decode([i])
                if (
                    len(piece) > 1
                    and piece[0] == " "
                    and piece[1:].isalnum()
                    and tok.encode(piece) == [i]
                ):
                    self.clean.append(piece)
                    if len(self.clean) >= self.CLEAN_WANTED:
                        break
            self.clean.sort()

    def make(self, n: int) -> tuple[str, int]:
        if self.tok is None:
            return " ".join(self.rng.choice(WORDS) for _ in range(n)), n
        tok, rng = self.tok, self.rng
        if len(self.clean) >= 20:
            text = "".join(rng.choice(self.clean) for _ in range(n))
            got = tok.count(text)
            if got == n:
                return text, n
        ids = [rng.choice(self.ids) for _ in range(n)]
        text = tok.decode(ids)
        for _ in range(10):
            got_ids = tok.encode(text)
            if len(got_ids) == n:
                return text, n
            if len(got_ids) > n:
                text = tok.decode(got_ids[:n])
            else:
                text = tok.decode(got_ids + [rng.choice(self.ids) for _ in range(n - len(got_ids))])
        return text, tok.count(text)


def _length(rng: random.Random, n: int, ratio: float) -> int:
    if ratio <= 0:
        return n
    return max(1, rng.randint(int(n * (1 - ratio)), int(n * (1 + ratio))))


def build_workload(spec: WorkloadSpec, tokenizer: Tokenizer | None = None) -> Workload:
    errs = spec.validate()
    if errs:
        raise ValueError("; ".join(errs))
    rng = random.Random(spec.seed)
    maker = _TextMaker(tokenizer, rng)
    prompts: list[Prompt] = []
    notes = []
    if tokenizer is None:
        notes.append(
            "no local tokenizer: prompt lengths are approximate (one common word ≈ one token)"
        )
    if spec.dataset == "random":
        for _ in range(spec.num_requests):
            text, n = maker.make(_length(rng, spec.input_len, spec.range_ratio))
            prompts.append(Prompt(text, n, _length(rng, spec.output_len, spec.range_ratio)))
    else:
        prefixes = [maker.make(spec.prefix_len) for _ in range(spec.num_prefixes)]
        suffix_len = spec.input_len - spec.prefix_len
        per = -(-spec.num_requests // spec.num_prefixes)
        for i in range(spec.num_requests):
            ptext, plen = prefixes[(i // per) % spec.num_prefixes]
            stext, slen = maker.make(suffix_len)
            prompts.append(Prompt(ptext + " " + stext, plen + slen, spec.output_len))
        rng.shuffle(prompts)
        notes.append(f"{spec.num_prefixes} prefixes × {per} suffixes")
    if (
        tokenizer is not None
        and spec.range_ratio == 0
        and spec.dataset == "random"
        and any(p.input_len != spec.input_len for p in prompts)
    ):
        notes.append("some prompts could not be made exactly input_len tokens long")
    if spec.endpoint == "chat":
        notes.append("chat: the chat template adds tokens; the server's prompt_tokens are kept")
    return Workload(
        spec=spec,
        prompts=prompts,
        exact=tokenizer is not None,
        tokenizer_name=tokenizer.name if tokenizer else None,
        notes=notes,
    )
