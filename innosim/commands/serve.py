"""``innosim serve``: run the workshop dashboard with uvicorn.

    innosim serve [--model NAME] [--only] [--host 127.0.0.1] [--port 8000] [--data-dir DIR]
                  [--no-browser] [--token TOKEN] [--allow-host NAME ...] [--set ID=VALUE ...]

The page of ``--model`` (default: the registry's default model) is at ``/``; every other
registered model is behind the page's model switch at ``/m/<name>/`` (``--only`` serves just the
one model). Each model keeps its submissions in ``<data folder>/<model name>/``.
The server binds to 127.0.0.1 unless told otherwise; ``--host 0.0.0.0`` opens it to a workshop
LAN (participants then browse to http://<this machine's address>:<port>/). The facilitator view
needs the facilitator token: the start-up message prints a link that carries it.
"""
from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import threading
import webbrowser
from pathlib import Path

from dashboard.security import TOKEN_ENV, check_token, new_token
from dashboard.store import default_data_dir

from ..registry import ModelInfo, load_registry, resolve
from .common import show_notice


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="innosim serve", description="Start the workshop dashboard "
                                "(FastAPI + uvicorn; plotly.js is served locally, nothing leaves the machine).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; 0.0.0.0 opens the dashboard to the LAN)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--data-dir", default=None,
                   help="folder of the submissions database (default: $INNOSIM_DATA_DIR, else "
                        f"{default_data_dir()})")
    p.add_argument("--model", default=None, metavar="NAME|PATH",
                   help="model of the page at / (a registered name or a model file with a model.toml; default: "
                        "the registry's default model); the other registered models are behind the model switch")
    p.add_argument("--only", action="store_true", help="serve only --model (no model switch)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    p.add_argument("--token", default=None,
                   help=f"facilitator token (default: ${TOKEN_ENV}, else a new random one; it is printed "
                        "at start). Prefer the environment variable: a command line is visible to other users")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also accept this host name in requests (e.g. workshop.local); localhost, "
                        "127.0.0.1, [::1] and --host are always accepted")
    p.add_argument("--set", action="append", default=[], metavar="ID=VALUE", dest="settings",
                   help="open the page of --model with this lever or shock set (repeatable; a.ID sets an "
                        "assumption), e.g. --set <lever id>=1.5 (innosim levers lists the ids); checked against the catalogue")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return p


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn does: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno not in (errno.EADDRINUSE, errno.EACCES)
    return True


def model_setup(info: ModelInfo):
    """The dashboard's view of a registered model (:class:`dashboard.ModelSetup`)."""
    from dashboard.simulation import ModelSetup

    return ModelSetup(name=info.name, title=info.title, catalogue=info.file("levers", "the dashboard"),
                      model=info.path, assumptions=info.files.get("assumptions"),
                      exercises=info.files.get("exercises"), notice=info.notice, charts=info.default_kpis,
                      calibration=info.files.get("calibration_setup"), uncertainties=info.files.get("uncertainties"),
                      documentation=info.documentation, description=info.description or None)


def site_setups(model, only: bool = False) -> list:
    """Set-ups of the served models: ``model`` (a name, path or None) first, then the others."""
    first = resolve(model)
    setups = [model_setup(first)]
    if not only:
        registry = load_registry()
        others = [registry.get(n) for n in registry.names if n != first.name]
        setups += [model_setup(i) for i in others if "levers" in i.files]
    return setups


def run_serve(argv: list[str] | None = None) -> int:
    """``innosim serve`` (errors reach ``innosim``'s handler only through the exit code)."""
    return main(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``innosim serve``; returns the process exit code."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not 0 < args.port < 65536:
        print(f"innosim serve: error: --port {args.port} is not a TCP port", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from dashboard.site import create_site
    except ImportError as exc:
        print(f"innosim serve: error: the dashboard needs the 'dashboard' extra "
              f"(pip install 'innosim[dashboard]'): {exc}", file=sys.stderr)
        return 2
    if not _port_free(args.host, args.port):
        print(f"innosim serve: error: {args.host}:{args.port} is already in use; choose another --port",
              file=sys.stderr)
        return 2
    from dashboard.security import Access

    try:
        if args.token is not None:
            token = check_token(args.token)
        elif os.environ.get(TOKEN_ENV):
            token = check_token(os.environ[TOKEN_ENV], f"${TOKEN_ENV}")
        else:
            token = new_token()
        access = Access(token=token, bind_host=args.host, allowed_hosts=tuple(args.allow_host))
    except ValueError as exc:
        print(f"innosim serve: error: {exc}", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    from simulator.errors import SimulatorError

    try:
        setups = site_setups(args.model, args.only)
        show_notice(resolve(args.model))
        initial = None
        if args.settings:
            from dashboard.settings import parse_settings

            def initial(sim):
                return parse_settings(args.settings, sim)
        app = create_site(setups, data_dir, access=access, initial=initial)
    except (ValueError, OSError, SimulatorError) as exc:   # bad model, catalogue, exercises or data folder
        print(f"innosim serve: error: {exc}", file=sys.stderr)
        return 2
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"http://{shown}:{args.port}/"
    others = "".join(f"\n    {url.rstrip('/')}/m/{s.name}/  {s.title['en']}" for s in setups[1:])
    opened = "".join(f"\n    opens with {t}" for t in args.settings)
    print(f"innosim dashboard on {url}  ({setups[0].title['en']}){opened}{others}\n"
          f"facilitator view (keep this link to yourself: it holds the facilitator token):\n"
          f"    {url}facilitator?token={token}\n"
          f"submissions are stored in {data_dir}; press Ctrl+C to stop", flush=True)
    if not args.no_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    # limit_concurrency: past this many open connections and tasks new ones get a 503 at once,
    # so a flood cannot grow the server's memory without bound (a workshop needs far fewer)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, limit_concurrency=512)
    return 0


if __name__ == "__main__":
    sys.exit(main())
