"""Every component id of the dashboard, in one place, so pages, callbacks and tests never drift.

Ids are prefixed by the page that owns them; the shell (navbar, refresh timer) has no prefix.
"""

# App shell: present on every page.
REFRESH_INTERVAL = "refresh-interval"
# The published snapshot's version, changed only when the engine published a new one: pages
# listen to it rather than to the interval, so an unchanged engine costs no callback at all.
SNAPSHOT_VERSION = "snapshot-version"
NAVBAR = "navbar"
NAVBAR_STATUS = "navbar-status"
NAVBAR_MARKET_DATE = "navbar-market-date"

# Overview: the portfolio manager's landing page.
OVERVIEW_MARKET_DATE = "overview-market-date"
OVERVIEW_AUM = "overview-aum"
OVERVIEW_PNL_TODAY = "overview-pnl-today"
OVERVIEW_PNL_PERIOD = "overview-pnl-period"
OVERVIEW_CASH_TO_INVEST = "overview-cash-to-invest"
OVERVIEW_ALERT_COUNT = "overview-alert-count"
OVERVIEW_BOOKS_TABLE = "overview-books-table"
OVERVIEW_ALERTS_TABLE = "overview-alerts-table"
OVERVIEW_NAV_GRAPH = "overview-nav-graph"
OVERVIEW_NAV_SCALE = "overview-nav-scale"
# The snapshot version the page last drew: an unchanged snapshot redraws nothing.
OVERVIEW_RENDERED = "overview-rendered"

# Engine: the cycle's latency against the seed gate and our target, its stages, transport and
# errors, and the engine's counters (moved from the Overview).
ENGINE_STATUS_BADGE = "engine-status-badge"
ENGINE_CYCLES = "engine-cycles"
ENGINE_MARKET_DATE = "engine-market-date"
ENGINE_SPEED = "engine-speed"
ENGINE_LAST_CYCLE_MS = "engine-last-cycle-ms"
ENGINE_SNAPSHOT_MS = "engine-snapshot-ms"
ENGINE_CYCLE_ERRORS = "engine-cycle-errors"
ENGINE_PUBLISHED_AT = "engine-published-at"
ENGINE_ERROR = "engine-error"
ENGINE_TRANSPORT = "engine-transport"
ENGINE_LATENCY_GRAPH = "engine-latency-graph"
ENGINE_LATENCY_SUMMARY = "engine-latency-summary"
ENGINE_LATENCY_TREND_GRAPH = "engine-latency-trend-graph"
# The last cycle (and its time) the latency card and charts show.
ENGINE_LATENCY_RENDERED = "engine-latency-rendered"

# Signals.
SIGNALS_RAW_HEATMAP = "signals-raw-heatmap"
SIGNALS_COORDINATED_HEATMAP = "signals-coordinated-heatmap"
SIGNALS_COORDINATED_TABLE = "signals-coordinated-table"
# What each part of the Signals page shows (its cycle), one store per part: each is its own answer.
SIGNALS_RENDERED_CYCLE = "signals-rendered-cycle"
SIGNALS_LINEAGE_RENDERED = "signals-lineage-rendered"
SIGNALS_CONFLICTS_RENDERED = "signals-conflicts-rendered"
SIGNALS_QUALITY_RENDERED = "signals-quality-rendered"
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
ALLOCATION_OUTCOME = "allocation-outcome"
ALLOCATION_RISK_GRAPH = "allocation-risk-graph"
# The sleeves card is hidden for a portfolio allocated as one book.
ALLOCATION_SLEEVES_CARD = "allocation-sleeves-card"
ALLOCATION_SLEEVES_TABLE = "allocation-sleeves-table"
ALLOCATION_CASH = "allocation-cash"
ALLOCATION_OVERRIDE_INSTRUMENT = "allocation-override-instrument"
ALLOCATION_OVERRIDE_MODE = "allocation-override-mode"
ALLOCATION_OVERRIDE_WEIGHT = "allocation-override-weight"
ALLOCATION_OVERRIDE_WEIGHT_HELP = "allocation-override-weight-help"
ALLOCATION_OVERRIDE_REASON = "allocation-override-reason"
ALLOCATION_OVERRIDE_ACTOR = "allocation-override-actor"
ALLOCATION_OVERRIDE_APPLY = "allocation-override-apply"
ALLOCATION_OVERRIDE_FEEDBACK = "allocation-override-feedback"
ALLOCATION_OVERRIDES_TABLE = "allocation-overrides-table"
# Bumped by each Apply or Lift, so the overrides table redraws at once, even with the engine paused.
ALLOCATION_OVERRIDES_CHANGED = "allocation-overrides-changed"
ALLOCATION_OVERRIDES_RENDERED = "allocation-overrides-rendered"
# The "type" of each weight override's Lift button; "portfolio" and "symbol" name the override.
ALLOCATION_LIFT_BUTTON = "allocation-lift-button"

# Trades.
TRADES_SUMMARY = "trades-summary"
TRADES_ORDERS_TABLE = "trades-orders-table"
TRADES_FILLS_TABLE = "trades-fills-table"
TRADES_RENDERED = "trades-rendered"
TRADES_WORKING_TABLE = "trades-working-table"
TRADES_SCHEDULE_GRAPH = "trades-schedule-graph"
TRADES_CROSSES_TABLE = "trades-crosses-table"
TRADES_BLOCKS_TABLE = "trades-blocks-table"
TRADES_QUALITY_TABLE = "trades-quality-table"
# What a Cancel in the blotter became (the engine's answer), shown above the blotter.
TRADES_CANCEL_FEEDBACK = "trades-cancel-feedback"
# The "type" of each working order's Cancel button; the button's "index" is the order id.
TRADES_HOLD_PORTFOLIO = "trades-hold-portfolio"
TRADES_HOLD_MODE = "trades-hold-mode"
TRADES_HOLD_REASON = "trades-hold-reason"
TRADES_HOLD_ACTOR = "trades-hold-actor"
TRADES_HOLD_APPLY = "trades-hold-apply"
TRADES_HOLD_FEEDBACK = "trades-hold-feedback"
# Bumped by each answered Hold/Release or Cancel, so the page redraws at once, even when paused.
TRADES_CHANGED = "trades-changed"

# Risk.
RISK_PORTFOLIO_PICKER = "risk-portfolio-picker"
RISK_SUMMARY = "risk-summary"
RISK_FIGURES = "risk-figures"
RISK_SECTOR_EXPOSURE_GRAPH = "risk-sector-exposure-graph"
RISK_CONTRIBUTIONS_GRAPH = "risk-contributions-graph"
RISK_SECTOR_CONTRIBUTIONS_GRAPH = "risk-sector-contributions-graph"
RISK_HISTORY_GRAPH = "risk-history-graph"
# What each part of the page shows (a key per part), so a refresh redraws only what changed; the
# figures and the two large tables are answers of their own, each with its store.
RISK_RENDERED = "risk-rendered"
RISK_FIGURES_RENDERED = "risk-figures-rendered"
RISK_TABLES_RENDERED = "risk-tables-rendered"
RISK_TRADING_STATE = "risk-trading-state"
RISK_STATE_SELECT = "risk-state-select"
RISK_STATE_REASON = "risk-state-reason"
RISK_STATE_ACTOR = "risk-state-actor"
RISK_STATE_APPLY = "risk-state-apply"
RISK_STATE_FEEDBACK = "risk-state-feedback"
RISK_LIMITS_TABLE = "risk-limits-table"
RISK_LIMIT_NAME = "risk-limit-name"
RISK_LIMIT_VALUE = "risk-limit-value"
RISK_LIMIT_VALUE_HELP = "risk-limit-value-help"
RISK_LIMIT_MODE = "risk-limit-mode"
RISK_LIMIT_WARN_AT = "risk-limit-warn-at"
RISK_LIMIT_ON_BREACH = "risk-limit-on-breach"
RISK_LIMIT_SYMBOLS = "risk-limit-symbols"
RISK_LIMIT_REASON = "risk-limit-reason"
RISK_LIMIT_ACTOR = "risk-limit-actor"
RISK_LIMIT_APPLY = "risk-limit-apply"
RISK_LIMIT_FEEDBACK = "risk-limit-feedback"
RISK_ALERTS_SCOPE = "risk-alerts-scope"
RISK_ALERTS_TABLE = "risk-alerts-table"
RISK_ALERT_NOTE = "risk-alert-note"
RISK_ALERT_ACTOR = "risk-alert-actor"
RISK_ALERT_FEEDBACK = "risk-alert-feedback"
# The "type" of each unacknowledged alert's Acknowledge button; the "index" is the alert id.
RISK_ACK_BUTTON = "risk-ack-button"
RISK_GATE_TABLE = "risk-gate-table"
RISK_GATE_GRID = "risk-gate-grid"
RISK_STRESS_TABLE = "risk-stress-table"
# Each holding's marginal and component volatility, VaR and CVaR, with a total row.
RISK_ATTRIBUTION_TABLE = "risk-attribution-table"
# The sleeves card is hidden for a portfolio allocated as one book.
RISK_SLEEVES_CARD = "risk-sleeves-card"
RISK_SLEEVES_GRAPH = "risk-sleeves-graph"
RISK_AUDIT_TABLE = "risk-audit-table"
# Bumped by each answered command (state, limit, acknowledgement), so the page redraws at once.
RISK_CHANGED = "risk-changed"

# Events.
EVENTS_PORTFOLIO_FILTER = "events-portfolio-filter"
EVENTS_TYPE_FILTER = "events-type-filter"
EVENTS_PAGE_LABEL = "events-page-label"
EVENTS_TABLE = "events-table"
EVENTS_OPTIONS_INTERVAL = "events-options-interval"
EVENTS_EXPORT_BUTTON = "events-export-button"
EVENTS_DOWNLOAD = "events-download"

# The filter value meaning "no filter" (an empty string would read as "nothing chosen").
ALL = "*"


def lift_button(override_id: str) -> dict[str, str]:
    """The pattern-matching id of the Lift button of one active override."""
    return {"type": SIGNALS_LIFT_BUTTON, "index": override_id}


def allocation_lift_button(portfolio_id: str, symbol: str) -> dict[str, str]:
    """The pattern-matching id of the Lift button of one weight override."""
    return {"type": ALLOCATION_LIFT_BUTTON, "portfolio": portfolio_id, "symbol": symbol}


def risk_ack_button(alert_id: str) -> dict[str, str]:
    """The pattern-matching id of the Acknowledge button of one risk alert."""
    return {"type": RISK_ACK_BUTTON, "index": alert_id}


# The Risk and Allocation pages: the confirmation of a risk control, the server grids.
RISK_CONFIRM_MODAL = "risk-confirm-modal"
RISK_CONFIRM_BODY = "risk-confirm-body"
RISK_CONFIRM_YES = "risk-confirm-yes"
RISK_CONFIRM_NO = "risk-confirm-no"
RISK_PENDING = "risk-pending"
RISK_LIMITS_GRID = "risk-limits-grid"
ALLOCATION_HOLDINGS_GRID = "allocation-holdings-grid"
ALLOCATION_WHY = "allocation-why"

# Trades: server-paged grids (components/grid.py), the Cancel and Hold confirmation dialogs.
TRADES_ORDERS_GRID = "trades-orders-grid"
TRADES_FILLS_GRID = "trades-fills-grid"
TRADES_WORKING_GRID = "trades-working-grid"
TRADES_ORDERS_NOTE = "trades-orders-note"
TRADES_FILLS_NOTE = "trades-fills-note"
TRADES_WORKING_NOTE = "trades-working-note"
# The working order picked in the blotter (its order id), and what Cancel would do to it.
TRADES_CANCEL_SELECTED = "trades-cancel-selected"
TRADES_CANCEL_SELECTION = "trades-cancel-selection"
TRADES_CANCEL_OPEN = "trades-cancel-open"
TRADES_CANCEL_DIALOG = "trades-cancel-dialog"
TRADES_CANCEL_SUMMARY = "trades-cancel-summary"
TRADES_CANCEL_REASON = "trades-cancel-reason"
TRADES_CANCEL_CONFIRM = "trades-cancel-confirm"
TRADES_CANCEL_DISMISS = "trades-cancel-dismiss"
TRADES_CANCEL_ERROR = "trades-cancel-error"
TRADES_HOLD_DIALOG = "trades-hold-dialog"
TRADES_HOLD_SUMMARY = "trades-hold-summary"
TRADES_HOLD_CONFIRM = "trades-hold-confirm"
TRADES_HOLD_DISMISS = "trades-hold-dismiss"

# Events: the server-paged event grid and the payload of the event picked in it.
EVENTS_GRID = "events-grid"
EVENTS_DETAIL = "events-detail"
TRADES_CROSSES_GRID = "trades-crosses-grid"
TRADES_BLOCKS_GRID = "trades-blocks-grid"

# The replay clock in the navbar (every page): its panel, the commands (each with a reason), the
# restart's confirmation, and the engine's answer.
CLOCK_TOGGLE = "clock-toggle"
CLOCK_PANEL = "clock-panel"
CLOCK_SUMMARY = "clock-summary"
CLOCK_REASON = "clock-reason"
CLOCK_ACTOR = "clock-actor"
CLOCK_PAUSE_BUTTON = "clock-pause-button"
CLOCK_RESUME_BUTTON = "clock-resume-button"
CLOCK_STEP_BUTTON = "clock-step-button"
CLOCK_SPEED_INPUT = "clock-speed-input"
CLOCK_SPEED_BUTTON = "clock-speed-button"
CLOCK_JUMP_DATE = "clock-jump-date"
CLOCK_JUMP_BUTTON = "clock-jump-button"
CLOCK_RESTART_DATE = "clock-restart-date"
CLOCK_RESTART_BUTTON = "clock-restart-button"
CLOCK_RESTART_MODAL = "clock-restart-modal"
CLOCK_RESTART_TEXT = "clock-restart-text"
CLOCK_RESTART_CONFIRM = "clock-restart-confirm"
CLOCK_RESTART_CANCEL = "clock-restart-cancel"
CLOCK_FEEDBACK = "clock-feedback"

# Performance page: the choice every panel follows, the panels, and the downloads.
PERF_PORTFOLIOS = "perf-portfolios"
PERF_DATES = "perf-dates"
PERF_FOCUS = "perf-focus"
PERF_LOG_SCALE = "perf-log-scale"
PERF_ROLLING_MEASURE = "perf-rolling-measure"
PERF_ROLLING_WINDOW = "perf-rolling-window"
PERF_EXECUTION_GROUP = "perf-execution-group"
PERF_INTERVAL = "perf-interval"
PERF_STATUS = "perf-status"
PERF_METRICS = "perf-metrics"
PERF_GROWTH_GRAPH = "perf-growth-graph"
PERF_DRAWDOWN_GRAPH = "perf-drawdown-graph"
PERF_ROLLING_GRAPH = "perf-rolling-graph"
PERF_MONTHLY_GRAPH = "perf-monthly-graph"
PERF_WATERFALL_GRAPH = "perf-waterfall-graph"
PERF_BRINSON_GRAPH = "perf-brinson-graph"
PERF_BRINSON_TABLE = "perf-brinson-table"
PERF_FACTOR_TABLE = "perf-factor-table"
PERF_SLEEVE_TABLE = "perf-sleeve-table"
PERF_SOURCE_TABLE = "perf-source-table"
PERF_DECISION_TABLE = "perf-decision-table"
PERF_EXECUTION_TABLE = "perf-execution-table"
PERF_GATES = "perf-gates"
PERF_DOWNLOAD_SHEET = "perf-download-sheet"
PERF_DOWNLOAD_CSV = "perf-download-csv"
PERF_SHEET_FILE = "perf-sheet-file"
PERF_CSV_FILE = "perf-csv-file"

# Rebalancing page: drift against the bands, the pending proposal, rebalance now, the policy
# form and the history.
REBAL_PORTFOLIO_PICKER = "rebal-portfolio-picker"
REBAL_SUMMARY = "rebal-summary"
REBAL_RENDERED = "rebal-rendered"
REBAL_CHANGED = "rebal-changed"
REBAL_DRIFT_GRAPH = "rebal-drift-graph"
REBAL_DRIFT_TABLE = "rebal-drift-table"
REBAL_SECTOR_TABLE = "rebal-sector-table"
REBAL_CLASS_TABLE = "rebal-class-table"
REBAL_HISTORY_TABLE = "rebal-history-table"
REBAL_POLICY_AUDIT = "rebal-policy-audit"
REBAL_PROPOSAL = "rebal-proposal"
REBAL_PROPOSAL_RENDERED = "rebal-proposal-rendered"
REBAL_PROPOSAL_KEEP = "rebal-proposal-keep"
REBAL_DECISION_REASON = "rebal-decision-reason"
REBAL_DECISION_ACTOR = "rebal-decision-actor"
REBAL_APPROVE = "rebal-approve"
REBAL_REJECT = "rebal-reject"
REBAL_DECISION_FEEDBACK = "rebal-decision-feedback"
REBAL_NOW_PREVIEW = "rebal-now-preview"
REBAL_NOW_REASON = "rebal-now-reason"
REBAL_NOW_ACTOR = "rebal-now-actor"
REBAL_NOW = "rebal-now"
REBAL_NOW_FEEDBACK = "rebal-now-feedback"
REBAL_FLOW_AMOUNT = "rebal-flow-amount"
REBAL_FLOW_REASON = "rebal-flow-reason"
REBAL_FLOW_ACTOR = "rebal-flow-actor"
REBAL_FLOW = "rebal-flow"
REBAL_FLOW_FEEDBACK = "rebal-flow-feedback"
REBAL_POLICY_CALENDAR = "rebal-policy-calendar"
REBAL_POLICY_EVERY_DAYS = "rebal-policy-every-days"
REBAL_POLICY_DRIFT_ABSOLUTE = "rebal-policy-drift-absolute"
REBAL_POLICY_DRIFT_RELATIVE = "rebal-policy-drift-relative"
REBAL_POLICY_SECTOR_DRIFT = "rebal-policy-sector-drift"
REBAL_POLICY_CLASS_DRIFT = "rebal-policy-class-drift"
REBAL_POLICY_SIGNAL_CHANGE = "rebal-policy-signal-change"
REBAL_POLICY_SWITCHES = "rebal-policy-switches"
REBAL_POLICY_EXPIRES = "rebal-policy-expires"
REBAL_POLICY_HORIZON = "rebal-policy-horizon"
REBAL_POLICY_REASON = "rebal-policy-reason"
REBAL_POLICY_ACTOR = "rebal-policy-actor"
REBAL_POLICY_APPLY = "rebal-policy-apply"
REBAL_POLICY_FEEDBACK = "rebal-policy-feedback"
