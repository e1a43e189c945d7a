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


@pytest.mark.parametrize(
    ("engine", "runtime", "expect"),
    [
        ("tgi", "native", "Invalid hostname, defaulting to 0.0.0.0"),
        ("vllm", "docker", "docker run -p binds an IP address only"),
        ("sglang", "docker", "docker run -p binds an IP address only"),
        ("tgi", "docker", "docker run -p binds an IP address only"),
    ],
)
def test_a_host_name_is_refused_where_the_engine_or_docker_needs_an_ip(engine, runtime, expect):
    text = f'engine = "{engine}"\nmodel = "org/m"\nruntime = "{runtime}"\nhost = "localhost"\n'
    found = issues(text)
    assert len(found) == 1 and found[0].startswith("p.toml:4: host: ") and expect in found[0]
    assert not issues(text.replace("localhost", "127.0.0.1"))


def test_vllm_and_sglang_natively_take_a_host_name():
    for engine in ("vllm", "sglang"):
        assert not issues(f'engine = "{engine}"\nmodel = "org/m"\nhost = "localhost"\n')


@pytest.mark.parametrize(("engine", "why"), [("sglang", "to its log"), ("tgi", "`ps` shows it")])
def test_api_key_env_is_refused_where_the_engine_exposes_the_key(engine, why):
    found = issues(f'engine = "{engine}"\nmodel = "org/m"\napi_key_env = "MY_KEY"\n')
    assert len(found) == 1 and found[0].startswith("p.toml:3: api_key_env: ") and why in found[0]
    assert not issues('engine = "vllm"\nmodel = "org/m"\napi_key_env = "MY_KEY"\n')
