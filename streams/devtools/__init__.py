"""Development and test tooling, apart from what runs in production.

kafka_broker   the local Apache Kafka broker (``douane kafka start|stop|status``)
stand_ins/     provider stand-ins speaking each wire format (``douane stand-in``)
model_server   the stand-in model (``douane model-server``)
demo           the end-to-end demo (``douane demo``), its second door and its prompts
bench/         the PII detection benchmark (``douane bench pii``)

Devtools may import anything of douane; nothing of douane imports devtools but the command
(``streams/cli/``) and the tests (``tests/unit/test_layout.py`` checks it).
"""
