"""A fake stream for load-test runs: a ``sender_factory`` that answers without a socket.

Each request yields ``output_len`` tokens with made-up but exact timings: TTFT
``slow_ttft_s`` for every ``slow_every``-th request (1-based), else
``fast_ttft_s``; then one token every ``itl_s``. The timestamps are computed, not
slept, so SLO checks are deterministic; each request still awaits ``hold_s`` of
real time so that a run lasts long enough to be stopped midway.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from llmops_tui.client.records import RequestRecord


@dataclass
class FakeStreams:
    fast_ttft_s: float = 0.010
    slow_ttft_s: float = 0.300
    slow_every: int = 2  # every 2nd request is slow (0: none)
    itl_s: float = 0.002
    hold_s: float = 0.0
    prompts: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    def __call__(self, target, spec, tokenizer):
        self.models.append(target.model)
        counter = {"n": 0}

        async def send(prompt) -> RequestRecord:
            counter["n"] += 1
            n = counter["n"]
            self.prompts.append(prompt.text)
            start = time.perf_counter()
            await asyncio.sleep(self.hold_s)
            slow = self.slow_every and n % self.slow_every == 0
            first = start + (self.slow_ttft_s if slow else self.fast_ttft_s)
            chunks = [first + k * self.itl_s for k in range(prompt.output_len)]
            return RequestRecord(
                start=start,
                first_token=first,
                chunk_times=chunks,
                end=chunks[-1],
                status=200,
                prompt_tokens=prompt.input_len,
                completion_tokens=prompt.output_len,
                token_source="usage",
                finish_reason="length",
            )

        return send
