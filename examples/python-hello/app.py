"""ferry's Python buildpack sample: answers GET / with a greeting, through
Flask (a dependency installed from PyPI by the buildpack)."""
import os

from flask import Flask

app = Flask(__name__)
GREETING = os.environ.get("GREETING", "hello")


@app.get("/")
def index():
    return GREETING + " from python\n", 200, {"Content-Type": "text/plain"}


@app.get("/healthz")
def healthz():
    return "ok\n"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8080")))
