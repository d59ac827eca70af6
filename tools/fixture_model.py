"""Tiny random-weight TrOCR-LaTeX models, shaped so greedy decoding is a fair parity test.

The architecture is trocr-base's (ViT encoder, TrOCR decoder with learned positions at
offset 2, layernorm_embedding, no embedding scale, tied output projection, gelu) at toy
sizes. Plain random weights give near-uniform logits, sequences that repeat one token,
and no EOS, so the init is wider (the encoder's especially, so that images differ) and a
few weights are rescaled after the random init:

- the tied token embedding and the position table are multiplied up, which spreads the
  logits (the decoder normalizes its input embedding, so only the logits grow);
- the cross-attention output is scaled down, so the image does not drown the position
  and the prefix: otherwise each sequence repeats one image-chosen token;
- the last layer's final LayerNorm bias gets a component along the EOS embedding, sized
  so that about EOS_STEP_RATE of the greedy steps would end there: sequences then end
  at different, image-dependent steps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from hub_export import Exporter
from transformers import (
    GenerationConfig,
    TrOCRConfig,
    VisionEncoderDecoderConfig,
    VisionEncoderDecoderModel,
    ViTConfig,
)

BOS_ID, PAD_ID, EOS_ID = 0, 1, 2
DECODER_INIT_STD = 0.15
ENCODER_INIT_STD = 1.0
LOGIT_GAIN = 60.0
CROSS_ATTENTION_GAIN = 0.3
EOS_STEP_RATE = 0.03


@dataclass(frozen=True)
class FixtureSpec:
    """Sizes, ids and seeds of one fixture model."""

    name: str
    exporter: Exporter
    image_size: tuple[int, int]  # (height, width)
    patch_size: int
    encoder_hidden: int
    encoder_layers: int
    encoder_heads: int
    d_model: int
    decoder_layers: int
    decoder_heads: int
    vocab_size: int
    decoder_start_token_id: int
    corpus_seed: int
    first_seed: int


def _config(spec: FixtureSpec, vocab_size: int) -> VisionEncoderDecoderConfig:
    height, width = spec.image_size
    encoder = ViTConfig(
        hidden_size=spec.encoder_hidden,
        num_hidden_layers=spec.encoder_layers,
        num_attention_heads=spec.encoder_heads,
        intermediate_size=4 * spec.encoder_hidden,
        image_size=height if height == width else [height, width],
        patch_size=spec.patch_size,
        qkv_bias=False,
        layer_norm_eps=1e-12,
        initializer_range=ENCODER_INIT_STD,
    )
    decoder = TrOCRConfig(
        vocab_size=vocab_size,
        d_model=spec.d_model,
        decoder_layers=spec.decoder_layers,
        decoder_attention_heads=spec.decoder_heads,
        decoder_ffn_dim=4 * spec.d_model,
        activation_function="gelu",
        max_position_embeddings=512,
        scale_embedding=False,
        use_learned_position_embeddings=True,
        layernorm_embedding=True,
        tie_word_embeddings=True,
        cross_attention_hidden_size=spec.encoder_hidden,
        init_std=DECODER_INIT_STD,
        is_decoder=True,
        add_cross_attention=True,
        bos_token_id=BOS_ID,
        pad_token_id=PAD_ID,
        eos_token_id=EOS_ID,
        decoder_start_token_id=spec.decoder_start_token_id,
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = spec.decoder_start_token_id
    config.pad_token_id = PAD_ID
    config.eos_token_id = EOS_ID
    return config


def build_model(
    spec: FixtureSpec, vocab_size: int, seed: int, pixel_values: torch.Tensor, max_length: int
) -> VisionEncoderDecoderModel:
    """Random model for `seed`, rescaled as the module docstring says, EOS bias calibrated
    on greedy runs over `pixel_values`."""
    torch.manual_seed(seed)
    model = VisionEncoderDecoderModel(_config(spec, vocab_size)).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=BOS_ID,
        decoder_start_token_id=spec.decoder_start_token_id,
        eos_token_id=EOS_ID,
        pad_token_id=PAD_ID,
    )
    decoder = model.decoder.model.decoder
    with torch.no_grad():
        decoder.embed_tokens.weight.mul_(LOGIT_GAIN)
        decoder.embed_positions.weight.mul_(LOGIT_GAIN)
        for layer in decoder.layers:
            layer.encoder_attn.out_proj.weight.mul_(CROSS_ATTENTION_GAIN)
        out = model.generate(
            pixel_values,
            max_length=max_length,
            output_logits=True,
            return_dict_in_generate=True,
        )
        logits = torch.stack(out.logits)
        shortfall = (logits.max(dim=-1).values - logits[..., EOS_ID]).flatten()
        bias = torch.quantile(shortfall, EOS_STEP_RATE)
        eos = decoder.embed_tokens.weight[EOS_ID]
        decoder.layers[-1].final_layer_norm.bias.add_(bias * eos / eos.dot(eos))
    return model


def preprocessor_config(spec: FixtureSpec) -> dict[str, object]:
    """ViTImageProcessor settings as TrOCR's processor has them, at the fixture's size."""
    height, width = spec.image_size
    return {
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "ViTImageProcessor",
        "image_std": [0.5, 0.5, 0.5],
        "processor_class": "TrOCRProcessor",
        "resample": 2,
        "rescale_factor": 1 / 255,
        "size": {"height": height, "width": width},
    }


def write_preprocessor_config(spec: FixtureSpec, folder: Path) -> None:
    """Write preprocessor_config.json into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(preprocessor_config(spec), indent=2, sort_keys=True)
    (folder / "preprocessor_config.json").write_text(text + "\n")
