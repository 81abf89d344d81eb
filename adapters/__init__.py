"""Adapters: one package per external system, each with the same shape (codec, client, sink...)."""
