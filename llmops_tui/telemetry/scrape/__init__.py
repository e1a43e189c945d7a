"""Engine Prometheus metrics → one ``EngineStats`` per engine.

Metric names per engine come from the engines' own sources
(``/work/shared/reference/engines.md``; fixtures in ``tests/fixtures/metrics``):

- vLLM: ``vllm:kv_cache_usage_perc`` (older ``vllm:gpu_cache_usage_perc``),
  ``vllm:num_requests_running|waiting``, ``vllm:prompt_tokens_total``,
  ``vllm:generation_tokens_total``, ``vllm:prefix_cache_hits_total`` /
  ``vllm:prefix_cache_queries_total`` (older ``vllm:gpu_prefix_cache_*``),
  ``vllm:num_preemptions_total``, ``vllm:cache_config_info`` (labels
  ``kv_cache_size_tokens`` or ``num_gpu_blocks`` × ``block_size``). Ranks: label ``engine``.
- SGLang (needs ``--enable-metrics``): ``sglang:token_usage``, ``sglang:num_running_reqs``,
  ``sglang:num_queue_reqs``, ``sglang:gen_throughput``, ``sglang:cache_hit_rate``,
  ``sglang:max_total_num_tokens``, counters ``sglang:prompt_tokens_total``,
  ``sglang:generation_tokens_total``, ``sglang:cached_tokens_total``,
  ``sglang:num_retracted_requests_total``. Ranks: label ``dp_rank``.
- TGI: ``tgi_batch_current_size``, ``tgi_queue_size``, ``tgi_batch_current_max_tokens``
  against ``tgi_batch_max_total_tokens`` (or ``max_batch_total_tokens`` from ``/info`` on
  older TGI): a *token-budget occupancy*, not a KV-cache gauge (TGI has none).
  Token rates come from the ``_sum`` of ``tgi_request_input_length`` and
  ``tgi_request_generated_tokens``, which move only when requests finish.

Only the lines of the metrics we use are handed to ``prometheus_client``'s text
parser (a vLLM page is ~600 lines, mostly histogram buckets: parsing all of it
costs ~10 ms; the selected lines ~0.6 ms), and each series (``name{labels}``) only
the first time it is seen (``SeriesCache``): later scrapes convert the value alone.

Rates are counter deltas between two scrapes of the same engine, robust to
counter resets (an engine restart): a counter that went down restarted from 0.
Nothing raises out of ``MetricsScraper.scrape``: failures are ``EngineStats.error``.

Modules: ``stats`` (result types), ``samples`` (parsing, ranks, counter rates),
``engine_maps`` (per-engine metric maps), ``scraper`` (HTTP).

Import names from the module that defines them: this ``__init__`` imports nothing
(tests/faults/test_input_import_race.py).
"""
