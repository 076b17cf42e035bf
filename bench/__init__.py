"""Throughput baseline for the gateway (``make bench`` → ``python -m bench.run``).

Four servers, each under uvicorn with one worker on its own loopback port, answer the same
request, ``POST /v1/sessions`` with Virtual Banker's ``CreateSessionRequest`` body:

* ``gateway``          – this server (``python -m gateway``): the real createSession operation
  (contract routing, JWT bearer check, request validation, rate limit, SQLite insert, 201);
* ``stock connexion``  – a bare connexion 3 AsyncApp with the same body schema, validated;
* ``fastapi``          – FastAPI with a pydantic model of the same body;
* ``starlette``        – raw Starlette, parse JSON and echo.

The three comparison apps echo the body with 201. They bracket the gateway: what the
framework alone costs (connexion), what a typical typed stack costs (FastAPI) and what
the ASGI floor is (Starlette). The numbers are a baseline to notice regressions against,
not a target. See bench/README.md.
"""
