"""The handlers of `pcoord`'s commands, one module per family, each imported only when its
command runs, so that `pcoord --help` answers without loading the engine."""
