"""ServiceAi storage: users and tokens, CSRF tokens, Chatty Voice records (tables in ``tables``)."""
