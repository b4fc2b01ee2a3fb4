"""Helpers for wasm-issuer plugins in Python, mirroring the Rust SDK
(`plugin-api/`) so that a plugin here decides and words its messages exactly
as its Rust twin: the configuration read as serde_json reads it (`config`),
Rust's text formats (`text`), cert-manager's usages (`usage`), certificate
templates (`template`) and granted keys (`key`, signer plugins only).

The generated bindings (`wit_world`) come from componentize-py at build time.
"""
