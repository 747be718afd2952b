"""``python -m app.cli``: the same as ``pcoord``."""

from app.cli import main

raise SystemExit(main())
