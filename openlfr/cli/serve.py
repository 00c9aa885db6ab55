"""`openlfr serve`: the operator service under uvicorn. (Accounts: `openlfr user`, cli/users.)"""

from __future__ import annotations

import typer

from openlfr.cli.common import OPTIONS, console, handle_errors


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8000)."),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Session cookie only over HTTPS (use behind TLS)."
    ),
) -> None:
    """Run the operator service (web pages and API).

    Live alerts, deployments, watchlists and the public record.
    """
    import uvicorn

    from openlfr.api import create_app

    with handle_errors():
        settings = OPTIONS.settings()
        web = settings.web.model_copy(
            update={
                k: v
                for k, v in {
                    "host": host,
                    "port": port,
                    "secure_cookies": secure_cookies or None,
                }.items()
                if v is not None
            }
        )
        settings = settings.model_copy(update={"web": web})
        application = create_app(settings)
    from openlfr.service.enrolment import remove_stale_uploads

    if removed := remove_stale_uploads():
        console.print(f"removed {removed} upload folder(s) left by an earlier, killed server")
    console.print(f"openlfr operator service on http://{web.host}:{web.port}/ (Ctrl-C stops)")
    # One process: the live feed and in-process runs live in its memory (the log-in limiter
    # counts in the store, so it holds across processes).
    # Forwarded headers only from the proxies named in settings (uvicorn would otherwise
    # believe any X-Forwarded-For sent from loopback, so a local client could pick its address).
    uvicorn.run(
        application,
        host=web.host,
        port=web.port,
        log_level="info",
        server_header=False,
        proxy_headers=bool(web.trusted_proxies),
        forwarded_allow_ips=list(web.trusted_proxies) or None,
    )
