"""Every component id of the dashboard, in one place, so pages, callbacks and tests never drift.

Ids are prefixed by the page that owns them; the shell (navbar, refresh timer) has no prefix.
"""

# App shell: present on every page.
REFRESH_INTERVAL = "refresh-interval"
NAVBAR = "navbar"
NAVBAR_STATUS = "navbar-status"
NAVBAR_MARKET_DATE = "navbar-market-date"

# Overview.
OVERVIEW_STATUS_BADGE = "overview-status-badge"
OVERVIEW_PAUSE_BUTTON = "overview-pause-button"
OVERVIEW_RESUME_BUTTON = "overview-resume-button"
OVERVIEW_SPEED_INPUT = "overview-speed-input"
OVERVIEW_SPEED_BUTTON = "overview-speed-button"
OVERVIEW_COMMAND_FEEDBACK = "overview-command-feedback"
OVERVIEW_CYCLES = "overview-cycles"
OVERVIEW_MARKET_DATE = "overview-market-date"
OVERVIEW_SPEED = "overview-speed"
OVERVIEW_LAST_CYCLE_MS = "overview-last-cycle-ms"
OVERVIEW_REFRESHED_AT = "overview-refreshed-at"
OVERVIEW_ERROR = "overview-error"
OVERVIEW_TRANSPORT = "overview-transport"
OVERVIEW_PORTFOLIO_CARDS = "overview-portfolio-cards"
OVERVIEW_NAV_GRAPH = "overview-nav-graph"
OVERVIEW_LATENCY_GRAPH = "overview-latency-graph"
OVERVIEW_RENDERED_CYCLE = "overview-rendered-cycle"

# Signals.
SIGNALS_RAW_HEATMAP = "signals-raw-heatmap"
SIGNALS_COORDINATED_HEATMAP = "signals-coordinated-heatmap"
SIGNALS_COORDINATED_TABLE = "signals-coordinated-table"
SIGNALS_RENDERED_CYCLE = "signals-rendered-cycle"
SIGNALS_FLOW_SANKEY = "signals-flow-sankey"
SIGNALS_CONFLICT_COUNTS = "signals-conflict-counts"
SIGNALS_CONFLICTS_TABLE = "signals-conflicts-table"
SIGNALS_ACCEPTED_COUNT = "signals-accepted-count"
SIGNALS_REJECTED_COUNT = "signals-rejected-count"
SIGNALS_REJECTED_TABLE = "signals-rejected-table"
SIGNALS_INTAKE_RENDERED = "signals-intake-rendered"
SIGNALS_QUALITY_TABLE = "signals-quality-table"
SIGNALS_QUALITY_GRAPH = "signals-quality-graph"
SIGNALS_OVERRIDE_PORTFOLIO = "signals-override-portfolio"
SIGNALS_OVERRIDE_INSTRUMENT = "signals-override-instrument"
SIGNALS_OVERRIDE_KIND = "signals-override-kind"
SIGNALS_OVERRIDE_SCORE = "signals-override-score"
SIGNALS_OVERRIDE_CONFIDENCE = "signals-override-confidence"
SIGNALS_OVERRIDE_EXPIRES = "signals-override-expires"
SIGNALS_OVERRIDE_REASON = "signals-override-reason"
SIGNALS_OVERRIDE_ACTOR = "signals-override-actor"
SIGNALS_OVERRIDE_APPLY = "signals-override-apply"
SIGNALS_OVERRIDE_FEEDBACK = "signals-override-feedback"
SIGNALS_OVERRIDES_TABLE = "signals-overrides-table"
SIGNALS_OVERRIDE_AUDIT = "signals-override-audit"
# Bumped by each Apply or Lift, so the overrides table redraws at once, even with the engine paused.
SIGNALS_OVERRIDES_CHANGED = "signals-overrides-changed"
SIGNALS_OVERRIDES_RENDERED = "signals-overrides-rendered"
# The "type" of each active override's Lift button; the button's "index" is the override id.
SIGNALS_LIFT_BUTTON = "signals-lift-button"

# Allocation.
ALLOCATION_PORTFOLIO_PICKER = "allocation-portfolio-picker"
ALLOCATION_WEIGHTS_GRAPH = "allocation-weights-graph"
ALLOCATION_HOLDINGS_TABLE = "allocation-holdings-table"
ALLOCATION_SUMMARY = "allocation-summary"
ALLOCATION_RENDERED = "allocation-rendered"
ALLOCATION_IMPACT = "allocation-impact"

# Trades.
TRADES_SUMMARY = "trades-summary"
TRADES_ORDERS_TABLE = "trades-orders-table"
TRADES_FILLS_TABLE = "trades-fills-table"
TRADES_RENDERED = "trades-rendered"

# Events.
EVENTS_PORTFOLIO_FILTER = "events-portfolio-filter"
EVENTS_TYPE_FILTER = "events-type-filter"
EVENTS_OLDER_BUTTON = "events-older-button"
EVENTS_NEWER_BUTTON = "events-newer-button"
EVENTS_NEWEST_BUTTON = "events-newest-button"
EVENTS_PAGE_LABEL = "events-page-label"
EVENTS_TABLE = "events-table"
EVENTS_PAGE = "events-page"
EVENTS_SHOWN = "events-shown"
EVENTS_OPTIONS_INTERVAL = "events-options-interval"
EVENTS_EXPORT_BUTTON = "events-export-button"
EVENTS_DOWNLOAD = "events-download"

# The filter value meaning "no filter" (an empty string would read as "nothing chosen").
ALL = "*"


def lift_button(override_id: str) -> dict[str, str]:
    """The pattern-matching id of the Lift button of one active override."""
    return {"type": SIGNALS_LIFT_BUTTON, "index": override_id}
