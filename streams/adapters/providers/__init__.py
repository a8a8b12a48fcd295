"""Provider adapters, one module per wire format, behind one interface (``gateway``).

``openai_chat`` speaks OpenAI Chat Completions (OpenAI, Mistral, DashScope compatible mode,
Qianfan v2, vLLM/Ollama/llama.cpp); ``anthropic_messages`` the Anthropic Messages API;
``gemini`` Google's generateContent / streamGenerateContent. Every adapter takes the same
Chat Completions shaped body douane audited and turns every failure into one ``ProviderError``
taxonomy, so retries and fallback (``resilience``, ``delivery``) never look at wire details.
"""
