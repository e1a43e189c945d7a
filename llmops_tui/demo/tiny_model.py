"""Write a tiny random-weight Llama that vLLM (CPU build) can serve.

    <engine venv>/bin/python llmops_tui/demo/tiny_model.py OUT_DIR [--seed N]

Run it with the engine's interpreter (it has torch, transformers and tokenizers);
the app's own venv stays light (the app runs this file by path: it imports nothing of
llmops_tui). Produces config.json, model.safetensors, a
byte-level BPE tokenizer trained here on a small built-in corpus, and a chat
template. head_dim is 64 (vLLM's CPU attention rejects 16).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]


def corpus() -> list[str]:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "while",
        "engines",
        "serve",
        "tokens",
        "to",
        "users",
        "latency",
        "throughput",
        "cache",
        "memory",
        "prefix",
        "batch",
        "request",
        "stream",
        "model",
        "weights",
        "tensor",
        "parallel",
        "pipeline",
        "data",
        "quantization",
        "benchmark",
        "chat",
        "monitor",
        "profile",
        "launch",
        "stop",
        "hello",
        "world",
        "how",
        "are",
        "you",
        "today",
        "what",
        "is",
        "the",
        "capital",
        "of",
        "france",
        "paris",
        "is",
        "a",
        "city",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "hundred",
        "thousand",
        "million",
    ]
    lines = []
    for i in range(400):
        n = 6 + i % 11
        lines.append(" ".join(words[(i * 7 + j * 13) % len(words)] for j in range(n)))
    lines += [f"{i} {i * 3} {i * 7}" for i in range(200)]
    return lines


def build_tokenizer(out: Path, vocab_size: int, max_len: int = 2048) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=["<|end|>", "<|system|>", "<|user|>", "<|assistant|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = max_len
    fast.save_pretrained(out)
    return len(fast)


def build_model(
    out: Path,
    vocab: int,
    seed: int,
    eos_id: int,
    bos_id: int,
    layers: int = 2,
    hidden: int = 128,
    max_len: int = 2048,
) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 64,
        num_key_value_heads=hidden // 64,
        head_dim=64,
        max_position_embeddings=max_len,
        rms_norm_eps=1e-5,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        tie_word_embeddings=False,
        torch_dtype="bfloat16",
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True)
    gen = {"bos_token_id": bos_id, "eos_token_id": eos_id, "do_sample": False}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vocab-size", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument(
        "--hidden",
        type=int,
        default=128,
        help="a multiple of 64 (head_dim 64: vLLM's CPU attention)",
    )
    ap.add_argument(
        "--max-len", type=int, default=2048, help="max_position_embeddings (context length)"
    )
    args = ap.parse_args(argv)
    out: Path = args.out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    vocab = build_tokenizer(out, args.vocab_size, args.max_len)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out)
    build_model(
        out,
        vocab,
        args.seed,
        tok.eos_token_id,
        tok.bos_token_id,
        args.layers,
        args.hidden,
        args.max_len,
    )
    print(json.dumps({"path": str(out), "vocab_size": vocab}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
