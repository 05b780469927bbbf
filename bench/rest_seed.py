"""Contender `seed-style REST`: the seed's architecture, one flight per HTTP request to a Flask endpoint.

`python -m bench.rest_seed --port P --models DIR` serves POST /predict; `load(...)` is the stress test: client
threads posting one flight per request for a fixed time, counting answered requests.
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time
from pathlib import Path
from typing import Any

import orjson


def serve(port: int, models: Path) -> None:
    from flask import Flask, Response, request

    from schemas import FlightEvent
    from training.artifact import load_artifact
    from training.features import records_to_frame

    model = load_artifact(models)
    app = Flask("seed")

    @app.post("/predict")
    def predict() -> Response:
        event = FlightEvent.model_validate(request.get_json(force=True))
        probability = float(model.pipeline.predict_proba(records_to_frame([event.model_record()]))[0, 1])
        body = {"delay_probability": probability, "delayed": probability >= model.threshold}
        return Response(orjson.dumps(body), mimetype="application/json")

    app.run(host="127.0.0.1", port=port, threaded=True)


def load(port: int, bodies: list[bytes], seconds: float, threads: int = 8) -> tuple[int, int]:
    """(answered, failed) requests from `threads` clients posting for `seconds`."""
    deadline = time.monotonic() + seconds
    answered = [0] * threads
    failed = [0] * threads

    def client(index: int) -> None:
        position = index
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request(
                    "POST", "/predict", bodies[position % len(bodies)], {"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    answered[index] += 1
                else:
                    failed[index] += 1
            except OSError:
                failed[index] += 1
            finally:
                connection.close()
            position += threads

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(answered), sum(failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--models", type=Path, default=Path("models"))
    args: Any = parser.parse_args()
    serve(args.port, args.models)


if __name__ == "__main__":
    main()
