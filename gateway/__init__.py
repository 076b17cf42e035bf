"""Top layer: the ASGI application — contract loading, operation binding, error envelopes, docs."""

import logging
import warnings

# connexion (Swagger UI, gateway/docs.py) imports starlette.testclient, which warns about httpx; harmless.
warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
warnings.filterwarnings("ignore", message=".*httpx.*deprecated.*")

# connexion warns on every request to an operation that accepts several media types (it picks
# by the request's Content-Type anyway); the warning is noise, not a problem.
logging.getLogger("connexion.operations.openapi").setLevel(logging.ERROR)
