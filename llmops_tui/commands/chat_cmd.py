"""`llmops chat`: one prompt to an engine, the reply streamed to stdout, metrics to stderr."""

from __future__ import annotations

import argparse
import sys

from llmops_tui.commands.argtypes import number, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "chat",
        help="send one prompt; stream the reply to stdout, the metrics line to stderr",
        description="Send one prompt to an OpenAI-compatible server and stream the reply. "
        "The metrics line (TTFT, decode tok/s, tokens in/out, finish reason) goes to stderr. "
        "Exit status: 0 ok, 1 the request failed, 2 bad arguments, 130 interrupted.",
    )
    p.add_argument("prompt", help="the user message ('-' reads it from stdin)")
    t = p.add_argument_group("target")
    t.add_argument("--profile", help="take base URL and model from this profile")
    t.add_argument("--base-url", help="server root, e.g. http://127.0.0.1:8000")
    t.add_argument("--model", help="model name to send (default: the profile's)")
    t.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key")
    s = p.add_argument_group("sampling")
    s.add_argument("--system", default="", help="system prompt")
    s.add_argument("--max-tokens", type=positive_int, default=512)
    s.add_argument("--temperature", type=number, default=None)
    s.add_argument("--top-p", type=number, default=None)
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    s.add_argument("--timeout", type=number, default=600.0, help="seconds without data")
    p.set_defaults(func=cmd_chat)


def _fail(msg: str, code: int = 2) -> int:
    print(f"llmops chat: {msg}", file=sys.stderr)
    return code


def resolve_target(args: argparse.Namespace):
    """(ChatTarget, None) or (None, error message)."""
    from llmops_tui.chat.model import ChatTarget

    if args.profile:
        from llmops_tui.chat.targets import profile_target
        from llmops_tui.profiles.profile import ProfileError
        from llmops_tui.profiles.store import ProfileNotFound, find_profile

        try:
            profile = find_profile(args.profile)
        except (ProfileError, ProfileNotFound) as exc:
            return None, str(exc)
        target = profile_target(profile)
        from llmops_tui.supervisor.core import running_endpoint

        running = running_endpoint(profile.name)  # where it really runs (up --set port=…)
        if running is not None:
            target = ChatTarget(target.name, running[0], running[1], target.api_key_env)
        if args.base_url or args.model or args.api_key_env:
            target = ChatTarget(
                target.name,
                args.base_url or target.base_url,
                args.model or target.model,
                args.api_key_env or target.api_key_env,
            )
        return target, None
    if not args.base_url or not args.model:
        return None, "give --profile NAME, or both --base-url URL and --model NAME"
    return ChatTarget("", args.base_url, args.model, args.api_key_env), None


def cmd_chat(args: argparse.Namespace) -> int:
    import asyncio

    from llmops_tui.chat.model import Conversation, SamplingSettings
    from llmops_tui.chat.session import ClientPool, send_turn

    target, problem = resolve_target(args)
    if target is None:
        return _fail(problem or "no target")
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        return _fail("the prompt is empty")
    conv = Conversation(
        targets=[target],
        system_prompt=args.system,
        settings=SamplingSettings(
            temperature=args.temperature,
            top_p=args.top_p,
            max_tokens=args.max_tokens,
            stop=list(args.stop),
            seed=args.seed,
        ),
    )
    out = sys.stdout

    def on_delta(_column: int, text: str) -> None:
        out.write(text)
        out.flush()

    async def main():
        pool = ClientPool(timeout=args.timeout)
        try:
            return await send_turn(conv, prompt, pool, on_delta)
        finally:
            await pool.aclose()

    [reply] = asyncio.run(main())
    if reply.content and not reply.content.endswith("\n"):
        out.write("\n")
        out.flush()
    if reply.metrics is not None:
        print(f"[{target.model}] {reply.metrics.line()}", file=sys.stderr)
    if reply.error is not None:
        return _fail(reply.error.message, 1)
    return 0
