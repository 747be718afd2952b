"""Measure one dashboard page in headless Chromium: its time to settle and the size of its
callback responses (``/_dash-update-component``), over a real engine replaying the bundled
history (the default config, a fresh SQLite file).

    python scripts/measure_page.py /trades "#trades-orders-table .ag-row" --seconds 30

Settle: from following the page's navbar link until ``selector`` is on the page. Sizes: every
callback response over ``--seconds`` after that, read from Chromium's performance log (bytes on
the wire as Chromium received them, before any compression, since the Flask server sends none).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from waitress import create_server

from app.dashboard import create_app
from app.runtime import build_runtime


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _callback_responses(driver: webdriver.Chrome) -> list[tuple[str, int]]:
    """(outputs, bytes) of each finished /_dash-update-component response in the log."""
    outputs: dict[str, str] = {}
    totals: dict[str, int] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            request = params["request"]
            if "_dash-update-component" in request["url"]:
                body = json.loads(request.get("postData") or "{}")
                outputs[params["requestId"]] = str(body.get("output", "?"))[:120]
        elif message["method"] == "Network.dataReceived" and params["requestId"] in outputs:
            totals[params["requestId"]] = totals.get(params["requestId"], 0) + params["dataLength"]
    return [(outputs[request_id], size) for request_id, size in totals.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("selector", help="CSS selector that is on the page once it has settled")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=20.0, help="engine run before opening")
    parser.add_argument("--speed", type=float, default=5.0, help="market days per second")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(
            database_url=f"sqlite:///{tmp}/m.db", speed_days_per_second=args.speed
        )
        runtime.runner.start()
        port = _free_port()
        server = create_server(
            create_app(runtime.runner, runtime.store).server, host="127.0.0.1", port=port, threads=8
        )
        threading.Thread(target=server.run, daemon=True).start()
        time.sleep(args.warmup)  # let the engine trade for a while: a script, not a test

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--window-size=1440,900"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        driver = webdriver.Chrome(options=options)
        try:
            driver.get(f"http://127.0.0.1:{port}/")
            WebDriverWait(driver, 60).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#navbar a.nav-link")
            )
            driver.get_log("performance")  # forget the landing page's traffic
            link = driver.find_element(By.CSS_SELECTOR, f"#navbar a.nav-link[href='{args.path}']")
            started = time.perf_counter()
            link.click()
            WebDriverWait(driver, 120, poll_frequency=0.05).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, args.selector)
            )
            settled_s = time.perf_counter() - started
            time.sleep(args.seconds)
            responses = _callback_responses(driver)
        finally:
            driver.quit()
            server.close()
            runtime.runner.stop()
    sizes = sorted(size for _, size in responses)
    for output, size in sorted(responses, key=lambda item: -item[1])[:3]:
        print(f"  {size / 1024:8.1f} KiB  {output}")
    total = sum(sizes)
    print(f"page {args.path}: settled in {settled_s:.2f} s ({args.selector!r} shown)")
    print(
        f"{len(sizes)} callback responses in the {args.seconds:.0f} s after: largest "
        f"{sizes[-1] / 1024:.1f} KiB, median {sizes[len(sizes) // 2] / 1024:.1f} KiB, "
        f"total {total / 1024:.0f} KiB ({total / 1024 / args.seconds:.1f} KiB/s)"
        if sizes
        else "no callback responses"
    )


if __name__ == "__main__":
    main()
