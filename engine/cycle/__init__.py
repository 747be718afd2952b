"""The coordination cycle's stages, one module each, and what they share: the event recorder,
command routing and the desks that own commands, recovery. ``engine.coordinator`` runs them as a
pipeline; docs/architecture.md lists each stage's inputs, result and events."""
