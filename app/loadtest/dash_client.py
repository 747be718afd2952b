"""One browser tab of a Dash app, over HTTP alone: what dash-renderer does, minus the drawing.

The tab loads ``/_dash-layout`` and ``/_dash-dependencies``, keeps every component's props by id,
and runs callbacks as the renderer does:

- *initial calls*: when components appear (the first layout, or a callback's output holding new
  components, such as a page's layout), every server-side callback with an input or an output
  among them fires, unless it says ``prevent_initial_call``;
- *chains*: every prop a callback's answer sets triggers the callbacks that take it as an Input
  (the renderer fires on every prop in an answer, equal or not; ``no_update`` is left out of the
  answer and so triggers nothing). A callback waits while one of its inputs is still the output
  of a callback pending or in flight, so each fires once per chain, after its inputs settled;
- clientside callbacks are skipped (no JavaScript here); pattern-matching ids (ALL, MATCH,
  ALLSMALLER) are resolved against the components present;
- a server-paged AG Grid (``rowModelType="infinite"``) asks for its first page when it appears,
  as the grid does, and asks again when a clientside callback holding it fires (the dashboard's
  refresh of a grid whose rows changed, components/grid.py).

Nothing here knows this dashboard's pages or ids: it reads them from the server, so it keeps
working as the callbacks change.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")
# A browser opens at most six connections to one host; a tab's parallel callbacks share them.
BROWSER_CONNECTIONS = 6
# Props never holding components: walking a large figure for ids would cost the client CPU the
# measured server needs (they share the machine).
OPAQUE_PROPS = frozenset({"figure", "rowData", "columnDefs", "data", "getRowsResponse"})
GRID_TYPE = "AgGrid"
GRID_PAGE_ROWS = 25
# A chain that keeps re-triggering itself is cut after this many waves and counted.
MAX_WAVES = 50
REQUEST_TIMEOUT_S = 120.0

ComponentId = str | dict[str, Any]


def stringify_id(component_id: ComponentId) -> str:
    """The key Dash uses for an id in its answers (dash._utils.stringify_id)."""
    if isinstance(component_id, dict):
        return (
            "{"
            + ",".join(
                f"{json.dumps(k)}:{json.dumps(component_id[k])}" for k in sorted(component_id)
            )
            + "}"
        )
    return component_id


def _wildcard(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 1 and value[0] in WILDCARDS:
        return value[0]
    return None


@dataclass(frozen=True, slots=True)
class PropSpec:
    """One Output, Input or State of a callback: an id (maybe a pattern) and a property."""

    component_id: ComponentId
    prop: str

    @property
    def clean_prop(self) -> str:
        # Outputs with allow_duplicate carry "@<hash>"; answers use the bare name.
        return self.prop.split("@", 1)[0]

    @property
    def is_pattern(self) -> bool:
        return isinstance(self.component_id, dict) and any(
            _wildcard(v) for v in self.component_id.values()
        )

    def matches(self, candidate: ComponentId, bound: dict[str, Any] | None = None) -> bool:
        """Whether a concrete id fits this spec (with MATCH keys bound to ``bound`` if given)."""
        if not isinstance(self.component_id, dict):
            return candidate == self.component_id
        if not isinstance(candidate, dict) or candidate.keys() != self.component_id.keys():
            return False
        for key, wanted in self.component_id.items():
            kind = _wildcard(wanted)
            if kind is None:
                if candidate[key] != wanted:
                    return False
            elif bound is not None and key in bound:
                if kind == "MATCH" and candidate[key] != bound[key]:
                    return False
                if kind == "ALLSMALLER" and not candidate[key] < bound[key]:
                    return False
        return True


def _parse_spec(text: str) -> PropSpec:
    id_text, _, prop = text.rpartition(".")
    return PropSpec(json.loads(id_text) if id_text.startswith("{") else id_text, prop)


def _spec(item: dict[str, Any]) -> PropSpec:
    raw = item["id"]
    return PropSpec(json.loads(raw) if raw.startswith("{") else raw, item["property"])


@dataclass(frozen=True, slots=True, eq=False)
class Dependency:
    """A callback as ``/_dash-dependencies`` describes it."""

    output: str  # the server's key for the callback
    outputs: tuple[PropSpec, ...]
    inputs: tuple[PropSpec, ...]
    state: tuple[PropSpec, ...]
    multi_output: bool
    prevent_initial_call: bool
    clientside: bool

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Dependency:
        output = entry["output"]
        multi = output.startswith("..")
        parts = output[2:-2].split("...") if multi else [output]
        return cls(
            output=output,
            outputs=tuple(_parse_spec(part) for part in parts if part),
            inputs=tuple(_spec(item) for item in entry.get("inputs", [])),
            state=tuple(_spec(item) for item in entry.get("state", [])),
            multi_output=multi,
            prevent_initial_call=bool(entry.get("prevent_initial_call")),
            clientside=bool(entry.get("clientside_function")),
        )


@dataclass(slots=True)
class CallbackAnswer:
    """One request to ``/_dash-update-component`` as it went."""

    output: str
    status: int  # 0: no HTTP answer (connection failed or timed out)
    latency_ms: float
    wire_bytes: int  # the body as sent, compressed or not
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str = ""


@dataclass(slots=True)
class ChainResult:
    """A chain of callbacks, from the trigger until nothing is left to fire."""

    answers: list[CallbackAnswer] = field(default_factory=list)
    waves: int = 0
    cut: bool = False  # stopped at MAX_WAVES

    @property
    def wire_bytes(self) -> int:
        return sum(answer.wire_bytes for answer in self.answers)


class _CallbackGraph:
    """Which server-side callbacks listen to a component's prop, and which fire initially when
    it appears: looked up by id for plain ids, and pattern by pattern only for dict ids, so a
    page of hundreds of components costs the client (which shares the server's cores) little."""

    def __init__(self, dependencies: list[Dependency]) -> None:
        self._listeners: dict[tuple[str, str], list[Dependency]] = {}
        self._pattern_listeners: list[tuple[PropSpec, Dependency]] = []
        self._initial: dict[str, list[Dependency]] = {}
        self._pattern_initial: list[tuple[PropSpec, Dependency]] = []
        # A clientside callback's plain input -> the ids it holds (a grid it refreshes).
        self._clientside: dict[tuple[str, str], list[str]] = {}
        for dependency in dependencies:
            if dependency.clientside:
                held = [
                    stringify_id(spec.component_id)
                    for spec in (*dependency.outputs, *dependency.state)
                    if not spec.is_pattern
                ]
                for spec in dependency.inputs:
                    if not spec.is_pattern:
                        key = (stringify_id(spec.component_id), spec.clean_prop)
                        self._clientside.setdefault(key, []).extend(held)
                continue
            for spec in dependency.inputs:
                if spec.is_pattern:
                    self._pattern_listeners.append((spec, dependency))
                else:
                    key = (stringify_id(spec.component_id), spec.clean_prop)
                    self._listeners.setdefault(key, []).append(dependency)
            if dependency.prevent_initial_call:
                continue
            for spec in (*dependency.inputs, *dependency.outputs):
                if spec.is_pattern:
                    self._pattern_initial.append((spec, dependency))
                else:
                    self._initial.setdefault(stringify_id(spec.component_id), []).append(dependency)

    def listening(self, key: str, component_id: ComponentId, prop: str) -> list[Dependency]:
        """The callbacks with this component's prop as an Input."""
        found = list(self._listeners.get((key, prop), ()))
        if isinstance(component_id, dict):
            found += [
                dependency
                for spec, dependency in self._pattern_listeners
                if spec.clean_prop == prop and spec.matches(component_id)
            ]
        return found

    def held_by_clientside(self, key: str, prop: str) -> list[str]:
        """The ids a clientside callback listening to this prop acts on."""
        return self._clientside.get((key, prop), [])

    def drawing_on(self, key: str, component_id: ComponentId) -> list[Dependency]:
        """The callbacks to call initially when this component appears (an Input or an Output
        of theirs is on it, and they do not prevent the initial call)."""
        found = list(self._initial.get(key, ()))
        if isinstance(component_id, dict):
            found += [
                dependency
                for spec, dependency in self._pattern_initial
                if spec.matches(component_id)
            ]
        return found


class _Connections:
    """Keep-alive HTTP connections, one per worker thread, as a browser reuses its sockets."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._local = threading.local()

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, int]:
        """(status, decoded body, bytes on the wire); one retry on a stale kept-alive socket."""
        headers = {"Accept-Encoding": "gzip", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=REQUEST_TIMEOUT_S
                )
                self._local.connection = connection
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
                continue
            if response.getheader("Content-Encoding") == "gzip":
                return response.status, gzip.decompress(raw), len(raw)
            return response.status, raw, len(raw)
        raise AssertionError("unreachable")

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()


class DashTab:
    """One browser tab: the component props it holds and the callbacks it fires.

    ``on_answer`` is called (from worker threads) with every callback answer, for measuring.
    """

    def __init__(
        self,
        host: str,
        port: int,
        on_answer: Callable[[CallbackAnswer], None] | None = None,
    ) -> None:
        self._connections = _Connections(host, port)
        self._pool = ThreadPoolExecutor(BROWSER_CONNECTIONS, thread_name_prefix="dash-tab")
        self._on_answer = on_answer or (lambda _answer: None)
        self.props: dict[str, dict[str, Any]] = {}
        self.types: dict[str, str] = {}
        self._ids: dict[str, ComponentId] = {}
        self._owned: dict[tuple[str, str], set[str]] = {}
        self.dependencies: list[Dependency] = []
        self._graph = _CallbackGraph([])
        self.root: dict[str, Any] = {}

    # -- the page ---------------------------------------------------------------------------

    def load(self) -> ChainResult:
        """Load the layout and the callback graph, then run the initial callbacks."""
        self.dependencies = [
            Dependency.from_json(entry) for entry in self._get_json("/_dash-dependencies")
        ]
        self._graph = _CallbackGraph(self.dependencies)
        self.root = self._get_json("/_dash-layout")
        self.props.clear()
        self._owned.clear()
        new_keys = self._mount(("", "layout"), self.root)
        return self.run_chain(self._initial_calls(new_keys))

    def set_props(self, updates: dict[str, dict[str, Any]]) -> ChainResult:
        """As a component does on user input or a timer: set props, run what they trigger."""
        triggered: dict[Dependency, set[str]] = {}
        new_keys: list[str] = []
        for key, props in updates.items():
            for prop, value in props.items():
                new_keys += self._set(key, prop, value)
                self._collect_triggers(key, prop, triggered)
        pending = self._initial_calls(new_keys)
        for dependency, changed in triggered.items():
            pending.setdefault(dependency, set()).update(changed)
        return self.run_chain(pending)

    def components_of_type(self, type_name: str) -> list[str]:
        return [key for key, kind in self.types.items() if kind == type_name]

    def links(self) -> list[str]:
        """The app's own paths linked from the layout (its navigation), in layout order."""
        paths: list[str] = []
        for node in _walk_components(self.root):
            href = (node.get("props") or {}).get("href")
            is_own_path = isinstance(href, str) and href.startswith("/") and href[1:2] != "_"
            if is_own_path and href not in paths:
                paths.append(href)
        return paths

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._connections.close()

    # -- callbacks ----------------------------------------------------------------------------

    def run_chain(self, pending: dict[Dependency, set[str]]) -> ChainResult:
        """Fire ``pending`` (callback -> the prop ids that triggered it) and whatever their
        answers trigger, wave after wave, until nothing is left."""
        result = ChainResult()
        while pending:
            if result.waves >= MAX_WAVES:
                result.cut = True
                break
            wave = self._ready(pending)
            for dependency in wave:
                del pending[dependency]
            requests = [
                (dependency, body)
                for dependency, changed in wave.items()
                for body in self._request_bodies(dependency, changed)
            ]
            result.waves += 1
            if not requests:
                continue
            answers = list(self._pool.map(lambda item: self._call(*item), requests))
            new_keys: list[str] = []
            triggered: dict[Dependency, set[str]] = {}
            for answer in answers:
                result.answers.append(answer)
                for key, props in answer.updates.items():
                    for prop, value in props.items():
                        new_keys += self._set(key, prop, value)
                        self._collect_triggers(key, prop, triggered)
            for dependency, changed in self._initial_calls(new_keys).items():
                pending.setdefault(dependency, set()).update(changed)
            for dependency, changed in triggered.items():
                pending.setdefault(dependency, set()).update(changed)
        return result

    def _ready(self, pending: dict[Dependency, set[str]]) -> dict[Dependency, set[str]]:
        """The pending callbacks none of whose inputs another pending callback still writes."""
        ready = {
            dependency: changed
            for dependency, changed in pending.items()
            if not any(other is not dependency and _feeds(other, dependency) for other in pending)
        }
        # A cycle would wait forever; a browser would fire them, and so do we.
        return ready or dict(pending)

    def _call(self, dependency: Dependency, body: dict[str, Any]) -> CallbackAnswer:
        started = time.perf_counter()
        try:
            status, raw, wire = self._connections.request(
                "POST", "/_dash-update-component", json.dumps(body).encode()
            )
        except OSError as exc:
            answer = CallbackAnswer(
                dependency.output, 0, (time.perf_counter() - started) * 1000, 0, error=str(exc)
            )
        else:
            latency_ms = (time.perf_counter() - started) * 1000
            answer = CallbackAnswer(dependency.output, status, latency_ms, wire)
            if status == 200:
                answer.updates = json.loads(raw).get("response", {})
            elif status != 204:  # 204: the callback prevented the update
                answer.error = raw[:300].decode(errors="replace")
        self._on_answer(answer)
        return answer

    def _request_bodies(self, dependency: Dependency, changed: set[str]) -> list[dict[str, Any]]:
        """The bodies the renderer would POST: none when the callback's components are not all
        present (the renderer does not fire it then), one per MATCH binding otherwise."""
        bodies = []
        for bound in self._bindings(dependency, changed):
            outputs = [self._resolve(spec, bound, with_value=False) for spec in dependency.outputs]
            inputs = [self._resolve(spec, bound, with_value=True) for spec in dependency.inputs]
            state = [self._resolve(spec, bound, with_value=True) for spec in dependency.state]
            if any(item is None for item in (*outputs, *inputs, *state)):
                continue
            bodies.append(
                {
                    "output": dependency.output,
                    "outputs": outputs if dependency.multi_output else outputs[0],
                    "inputs": inputs,
                    "state": state,
                    "changedPropIds": sorted(changed),
                }
            )
        return bodies

    def _bindings(self, dependency: Dependency, changed: set[str]) -> list[dict[str, Any] | None]:
        """For a MATCH callback, one binding of its MATCH keys per matching component of its
        first MATCH input (only the components that changed, when a change triggered it);
        otherwise a single call with no binding."""
        for spec in dependency.inputs:
            if isinstance(spec.component_id, dict) and any(
                _wildcard(v) == "MATCH" for v in spec.component_id.values()
            ):
                keys = [k for k, v in spec.component_id.items() if _wildcard(v) == "MATCH"]
                changed_keys = {item.rpartition(".")[0] for item in changed}
                bindings = []
                for key, component_id in self._ids.items():
                    if changed_keys and key not in changed_keys:
                        continue
                    if spec.matches(component_id):
                        binding = {k: component_id[k] for k in keys}
                        if binding not in bindings:
                            bindings.append(binding)
                return bindings
        return [None]

    def _resolve(self, spec: PropSpec, bound: dict[str, Any] | None, with_value: bool) -> Any:
        def entry(key: str) -> dict[str, Any]:
            item: dict[str, Any] = {"id": self._ids[key], "property": spec.prop}
            if with_value:
                item["value"] = self.props[key].get(spec.clean_prop)
            return item

        if not spec.is_pattern:
            key = stringify_id(spec.component_id)
            return entry(key) if key in self.props else None
        matching = [key for key, cid in self._ids.items() if spec.matches(cid, bound)]
        kinds = {_wildcard(v) for v in spec.component_id.values()} - {None}  # type: ignore[union-attr]
        if kinds == {"MATCH"}:
            return entry(matching[0]) if matching else None
        return [entry(key) for key in matching]

    def _collect_triggers(self, key: str, prop: str, triggered: dict[Dependency, set[str]]) -> None:
        component_id = self._ids.get(key)
        if component_id is None:
            return
        for dependency in self._graph.listening(key, component_id, prop):
            triggered.setdefault(dependency, set()).add(f"{key}.{prop}")
        for held in self._graph.held_by_clientside(key, prop):
            if self._is_paged_grid(held):
                self._ask_for_rows(held, triggered)

    def _is_paged_grid(self, key: str) -> bool:
        return self.types.get(key) == GRID_TYPE and (
            self.props.get(key, {}).get("rowModelType") == "infinite"
        )

    def _ask_for_rows(self, key: str, triggered: dict[Dependency, set[str]]) -> None:
        """What the grid does on appearing or being refreshed: request the page it shows."""
        props = self.props[key]
        page = (props.get("dashGridOptions") or {}).get("cacheBlockSize") or GRID_PAGE_ROWS
        request = props.get("getRowsRequest") or {
            "startRow": 0,
            "endRow": page,
            "sortModel": [],
            "filterModel": {},
        }
        props["getRowsRequest"] = dict(request)
        for dependency in self._graph.listening(key, self._ids[key], "getRowsRequest"):
            triggered.setdefault(dependency, set()).add(f"{key}.getRowsRequest")

    def _initial_calls(self, new_keys: Iterable[str]) -> dict[Dependency, set[str]]:
        """Callbacks with an input or an output among newly mounted components."""
        calls: dict[Dependency, set[str]] = {}
        for key in new_keys:
            component_id = self._ids.get(key)
            if component_id is not None:
                for dependency in self._graph.drawing_on(key, component_id):
                    calls.setdefault(dependency, set())
                if self._is_paged_grid(key):
                    self._ask_for_rows(key, calls)
        return calls

    # -- the component tree -----------------------------------------------------------------

    def _set(self, key: str, prop: str, value: Any) -> list[str]:
        """Set a prop of a present component; the keys of components it newly holds."""
        if key not in self.props:
            return []  # the component left the page while the answer was on its way
        self._unmount((key, prop))
        self.props[key][prop] = value
        if prop in OPAQUE_PROPS or not isinstance(value, dict | list):
            return []
        return self._mount((key, prop), value)

    def _mount(self, owner: tuple[str, str], value: Any) -> list[str]:
        new_keys: list[str] = []
        stack: list[tuple[tuple[str, str], Any]] = [(owner, value)]
        while stack:
            holder, node = stack.pop()
            # Children are pushed in reverse so that they are registered in document order:
            # the order in which the renderer lists ALL-pattern matches.
            if isinstance(node, list):
                stack.extend(
                    (holder, item) for item in reversed(node) if isinstance(item, dict | list)
                )
                continue
            if not isinstance(node, dict):
                continue
            if "namespace" in node and "type" in node and "props" in node:
                props = node.get("props") or {}
                component_id = props.get("id")
                key = None
                if component_id is not None:
                    key = stringify_id(component_id)
                    self._owned.setdefault(holder, set()).add(key)
                    self.props[key] = dict(props)
                    self._ids[key] = component_id
                    self.types[key] = node["type"]
                    new_keys.append(key)
                for name, child in reversed(props.items()):
                    if name not in OPAQUE_PROPS and isinstance(child, dict | list):
                        stack.append(((key, name) if key is not None else holder, child))
            else:
                stack.extend(
                    (holder, child)
                    for child in reversed(node.values())
                    if isinstance(child, dict | list)
                )
        return new_keys

    def _unmount(self, owner: tuple[str, str]) -> None:
        stack = [owner]
        while stack:
            for key in self._owned.pop(stack.pop(), ()):
                stack.extend((key, prop) for prop in self.props.pop(key, {}))
                self._ids.pop(key, None)
                self.types.pop(key, None)

    def _get_json(self, path: str) -> Any:
        status, raw, _wire = self._connections.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered HTTP {status}: {raw[:200]!r}")
        return json.loads(raw)


def _feeds(upstream: Dependency, downstream: Dependency) -> bool:
    """Whether an output of ``upstream`` may be an input of ``downstream``."""
    return any(
        out.clean_prop == inp.clean_prop and _ids_may_meet(out.component_id, inp.component_id)
        for out in upstream.outputs
        for inp in downstream.inputs
    )


def _ids_may_meet(a: ComponentId, b: ComponentId) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if a.keys() != b.keys():
        return False
    return all(_wildcard(a[k]) or _wildcard(b[k]) or a[k] == b[k] for k in a)


def _walk_components(node: Any) -> Iterable[dict[str, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            if "namespace" in item and "props" in item:
                yield item
                props = item.get("props") or {}
                stack.extend(reversed([v for k, v in props.items() if k not in OPAQUE_PROPS]))
            else:
                stack.extend(reversed(list(item.values())))
