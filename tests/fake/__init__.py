"""A fake adapter: an in-memory target that behaves like an ERP (not idempotent, replies that
can be lost), so the pipeline and runtime are tested without any vendor's code."""
