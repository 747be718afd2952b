"""Read models: what the dashboard, the CLI and the Pulsar follower read instead of the engine's
internals (see docs/architecture.md)."""
