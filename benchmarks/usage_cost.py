"""What usage and cost add to each answer (issue 17): microseconds per answer, on the shipped
policy set, for the three steps the forward stage now takes - reading the provider's usage
(each wire format), counting tokens when there is none (the estimate), and pricing the usage
with the entry in force - against the CPU one answer costs the worker (57.7 ms measured,
docs/benchmarks.md).

    .venv/bin/python benchmarks/usage_cost.py [--rounds 20000]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime

from _timing import per_call_us

from streams.adapters.policy_files import load_policy_set
from streams.adapters.providers import anthropic_messages, gemini, openai_chat
from streams.config import project_root
from streams.core.pricing import usage_and_cost
from streams.core.usage import TokenUsage, body_texts, estimated_usage

CPU_PER_ANSWER_MS = 57.7  # docs/benchmarks.md, the concurrency table's CPU per answer
OPENAI = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"},
                       "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
                    "prompt_tokens_details": {"cached_tokens": 1024}}}
ANTHROPIC = {"input_tokens": 21, "cache_creation_input_tokens": 188,
             "cache_read_input_tokens": 1800, "output_tokens": 393, "service_tier": "standard"}
GEMINI = {"usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 3,
                            "totalTokenCount": 1026, "thoughtsTokenCount": 1015}}
BODY = {"model": "llama", "messages": [
    {"role": "system", "content": "Vous répondez brièvement, en français administratif."},
    {"role": "user", "content": "Bonjour, merci de répondre à <PERSON_1> (<EMAIL_ADDRESS_1>) au "
                                "sujet du remboursement sur le compte <IBAN_CODE_1>." * 4}]}
ANSWER = "Madame, nous avons bien reçu votre demande de remboursement. " * 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20000)
    rounds = parser.parse_args().rounds
    policy = load_policy_set(project_root() / "policies" / "policy.yaml").policy
    mistral, local = policy.provider("mistral-paris"), policy.provider("sovereign-local")
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    usage = TokenUsage(1117, 46)
    steps: dict[str, Callable[[], object]] = {
        "parse OpenAI usage": lambda: openai_chat.usage_of(OPENAI),
        "parse Anthropic usage": lambda: anthropic_messages.usage_of(ANTHROPIC),
        "parse Gemini usage": lambda: gemini.usage_of(GEMINI),
        "estimate (no usage)": lambda: estimated_usage(body_texts(BODY), [ANSWER]),
        "price, model's own entry": lambda: usage_and_cost(
            mistral, "mistral-small-latest", usage, at),
        "price, local door": lambda: usage_and_cost(local, "llama-3.3-70b-instruct", usage, at),
    }
    print(f"{'step':<28} {'µs per answer':>14}")
    for name, step in steps.items():
        figure = per_call_us(step, rounds)
        print(f"{name:<28} {figure:>14.2f}")
    # the worst path an answer takes: parse (nothing usable) + estimate + price
    total = (per_call_us(steps["parse OpenAI usage"], rounds)
             + per_call_us(steps["estimate (no usage)"], rounds)
             + per_call_us(steps["price, model's own entry"], rounds))
    print(f"{'worst path (parse+estimate+price)':<34} {total:>8.2f} µs = "
          f"{total / (CPU_PER_ANSWER_MS * 1000) * 100:.3f} % of the {CPU_PER_ANSWER_MS} ms of "
          "CPU one answer costs the worker")


if __name__ == "__main__":
    main()
