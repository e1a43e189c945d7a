"""`llmops profiles check` refuses what each engine refuses, naming the engine's choices
(issue 15: SGLang 0.5.23 rejects --quantization marlin and --kv-cache-dtype fp4_e2m1;
vLLM 0.32 refuses fbgemm_fp8 / fp_quant without --allow-deprecated-quantization)."""

from __future__ import annotations

import pytest

from llmops_tui.profiles.validation import check_profile_text


def issues(text: str) -> list[str]:
    return [str(i) for i in check_profile_text(text, "p.toml")[1]]


@pytest.mark.parametrize(
    ("field", "value", "choices"),
    [
        ("quantization", "marlin", "awq, awq_marlin, bitsandbytes"),
        ("kv_cache_dtype", "fp4_e2m1", "auto, bf16, bfloat16, fp4_mx_block16, fp8_e4m3"),
    ],
)
def test_sglang_refuses_what_its_parser_refuses_with_its_choices(field, value, choices):
    found = issues(f'engine = "sglang"\nmodel = "org/m"\n{field} = "{value}"\n')
    assert len(found) == 1
    assert f"p.toml:3: {field}: SGLang does not accept {field} '{value}'" in found[0]
    assert choices in found[0]


@pytest.mark.parametrize("method", ["fbgemm_fp8", "fp_quant"])
def test_vllm_deprecated_quantization_needs_vllms_own_override(method):
    base = f'engine = "vllm"\nmodel = "org/m"\nquantization = "{method}"\n'
    refused = issues(base)
    assert refused == [
        f"p.toml:3: quantization: vLLM deprecates quantization '{method}' and refuses it "
        'unless extra_args has "--allow-deprecated-quantization"'
    ]
    warned = issues(base + 'extra_args = ["--allow-deprecated-quantization"]\n')
    assert warned == [f"p.toml:3: warning: quantization: vLLM deprecates quantization '{method}'"]
