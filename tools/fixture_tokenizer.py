"""A small RoBERTa-style byte-level BPE tokenizer trained on generated LaTeX.

trocr-base's tokenizer is RoBERTa's: byte-level BPE, `<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3
and `<mask>` as the last id. The fixture tokenizer keeps that shape with a vocabulary of
a few hundred tokens, and is written as the hub repo has it (tokenizer.json,
tokenizer_config.json, special_tokens_map.json, vocab.json, merges.txt).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
MASK_TOKEN = "<mask>"

_LETTERS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_GREEK = [r"\alpha", r"\beta", r"\gamma", r"\delta", r"\theta", r"\lambda", r"\mu", r"\pi"]
_GREEK += [r"\sigma", r"\phi", r"\omega", r"\epsilon", r"\Delta", r"\Omega", r"\infty"]
_RELATIONS = ["=", "+", "-", r"\cdot", r"\times", r"\leq", r"\geq", r"\neq", "<", ">"]
_RELATIONS += [r"\approx", r"\to", r"\in", r"\pm", "/", ","]
_FUNCTIONS = [r"\sin", r"\cos", r"\tan", r"\log", r"\ln", r"\exp"]


def _atom(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(_LETTERS)
    if roll < 0.75:
        return str(rng.randint(0, 99 if rng.random() < 0.3 else 9))
    return rng.choice(_GREEK)


def _term(rng: random.Random, depth: int) -> str:
    if depth <= 0:
        return _atom(rng)
    inner = _expression(rng, depth - 1, 3)
    templates = [
        lambda: f"{_atom(rng)}^{{{inner}}}",
        lambda: f"{_atom(rng)}_{{{_atom(rng)}}}",
        lambda: f"\\frac{{{inner}}}{{{_expression(rng, depth - 1, 2)}}}",
        lambda: f"\\sqrt{{{inner}}}",
        lambda: f"\\sum_{{{_atom(rng)}=1}}^{{n}}{inner}",
        lambda: f"\\int_{{{_atom(rng)}}}^{{{_atom(rng)}}}{inner}\\,d{rng.choice('xyt')}",
        lambda: f"\\left({inner}\\right)",
        lambda: f"{rng.choice(_FUNCTIONS)}({inner})",
        lambda: f"\\lim_{{{rng.choice('xn')}\\to\\infty}}{inner}",
        lambda: f"\\mathbf{{{_atom(rng)}}}",
        lambda: (
            f"\\begin{{matrix}}{_atom(rng)}&{_atom(rng)}\\\\{_atom(rng)}&{_atom(rng)}"
            "\\end{matrix}"
        ),
        lambda: f"{{{inner}}}",
    ]
    return rng.choice(templates)()


def _expression(rng: random.Random, depth: int, max_terms: int) -> str:
    terms = [_term(rng, rng.randint(0, depth)) for _ in range(rng.randint(1, max_terms))]
    out = terms[0]
    for term in terms[1:]:
        out += rng.choice(["", " "]) + rng.choice(_RELATIONS) + rng.choice(["", " "]) + term
    return out


def latex_corpus(seed: int, count: int) -> list[str]:
    """Generate `count` varied LaTeX strings (fractions, scripts, sums, matrices, ...)."""
    rng = random.Random(seed)
    corpus = [_expression(rng, rng.randint(0, 3), rng.randint(1, 5)) for _ in range(count)]
    # Punctuation after a space is what the legacy 4.x clean-up of decoded text rewrites.
    corpus += ["a , b", "x . y", "f ( x ) , g ( x )", "1 , 2 , \\dots , n", "x ! = y ?"]
    return corpus


def train_tokenizer(corpus: list[str], vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE with RoBERTa's special tokens; `<mask>` gets the last id."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    tokenizer.add_special_tokens([AddedToken(MASK_TOKEN, lstrip=True, normalized=False)])
    return tokenizer


def _added_token_entry(token: AddedToken) -> dict[str, object]:
    return {
        "content": token.content,
        "lstrip": token.lstrip,
        "normalized": token.normalized,
        "rstrip": token.rstrip,
        "single_word": token.single_word,
        "special": token.special,
    }


def save_tokenizer_files(tokenizer: Tokenizer, folder: Path) -> None:
    """Write the five tokenizer files of a RoBERTa/TrOCR hub repo into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    vocab = sorted(tokenizer.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
    (folder / "vocab.json").write_text(json.dumps(dict(vocab), ensure_ascii=False))
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    lines = ["#version: 0.2", *(" ".join(pair) for pair in merges)]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    added = tokenizer.get_added_tokens_decoder()
    mask = next(token for token in added.values() if token.content == MASK_TOKEN)
    mask_entry = {k: v for k, v in _added_token_entry(mask).items() if k != "special"}
    special_map = {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "mask_token": mask_entry,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "unk_token": "<unk>",
    }
    config = {
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(i): _added_token_entry(token) for i, token in sorted(added.items())
        },
        # True as in older RoBERTa configs: transformers 4.x applies its " ," clean-up on
        # decode, 5.x does not, and the fixture records which one the reference follows.
        "clean_up_tokenization_spaces": True,
        "errors": "replace",
        "model_max_length": 512,
        "processor_class": "TrOCRProcessor",
        "tokenizer_class": "RobertaTokenizer",
        "trim_offsets": True,
        **{k: v for k, v in special_map.items() if k != "mask_token"},
        "mask_token": MASK_TOKEN,
    }
    for name, data in (("special_tokens_map.json", special_map), ("tokenizer_config.json", config)):
        (folder / name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
