"""Handlers: one package per API, one function per operationId. Handlers call adapters, never drivers or SDKs."""
