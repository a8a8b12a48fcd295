"""Local stand-ins for model providers, each reproducing one provider's public wire format.

Built from the providers' API references (request and response bodies, streaming events, error
shapes and headers) and checked against the providers' official SDKs in the tests. They echo
what they received, can require an API key, and can be told to fail (``POST /_stand-in/faults``)
so adapters, retries and fallback are exercised over real HTTP on 127.0.0.1. The demo uses
them for the providers it cannot reach.
"""
