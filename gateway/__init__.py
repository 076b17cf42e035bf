"""Top layer: the ASGI application — contract loading, operation binding, error envelopes, docs."""

import warnings

# connexion imports starlette.testclient at import time, which warns about httpx; harmless here.
warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
warnings.filterwarnings("ignore", message=".*httpx.*deprecated.*")
