"""The `slotwise` command: serve, migrate, demo, export-schema, sync-calendars, create-api-key."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from slotwise.config import Settings

if TYPE_CHECKING:
    from resolvers.access import NewKey
    from resolvers.calendar import CalendarStatus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slotwise", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("serve", "migrate, then serve the API"), ("demo", "migrate, add demo data, serve")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8000)
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("sync-calendars", help="sync every connected Google Calendar once")
    key = commands.add_parser("create-api-key", help="create an API key (the first admin key, say)")
    key.add_argument("--name", required=True)
    key.add_argument("--role", choices=["ADMIN", "PROVIDER", "PARTNER"], required=True)
    key.add_argument("--provider", action="append", default=[], help="a provider id (repeat for partners)")
    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("path", nargs="?", default="schema.graphql")
    args = parser.parse_args(argv)
    if args.command in ("serve", "demo"):
        from slotwise.observability import configure_logging

        configure_logging(Settings().log_level)
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    if args.command == "export-schema":
        from schema.schema import export_sdl

        Path(args.path).write_text(export_sdl())
        print(f"wrote {args.path}")
        return 0

    from slotwise.database import database_url
    from slotwise.migrate import upgrade

    settings = Settings()
    url = database_url(settings)
    upgrade(url)
    if args.command == "migrate":
        print("migrations applied")
        return 0
    if args.command == "create-api-key":
        made = asyncio.run(_create_api_key(url, args.name, args.role, args.provider))
        print(f"{made.record.id} {made.record.role} {made.record.name}\n{made.key}")
        print("keep the key: it is shown only now", file=sys.stderr)
        return 0
    if args.command == "sync-calendars":
        for status in asyncio.run(_sync_calendars(settings, url)):
            print(f"{status.provider_id}: {status.status} {status.last_error or ''}".rstrip())
        return 0
    if args.command == "demo":
        print(json.dumps(asyncio.run(_seed_demo(settings, url)), indent=2))
    _serve(settings, url, args.host, args.port)
    return 0


async def _seed_demo(settings: Settings, url: str) -> dict[str, str]:
    from db.engine import create_engine
    from domain.access import Role
    from resolvers.access import create_api_key
    from resolvers.context import AppContext
    from slotwise.demo import seed

    engine = create_engine(url, 2)
    try:
        app = AppContext(engine)
        ids = await seed(app)
        key = await create_api_key(app, None, "demo admin", Role.ADMIN, [])
        return ids | {"adminKey (send as Authorization: Bearer ...)": key.key}
    finally:
        await engine.dispose()


async def _create_api_key(url: str, name: str, role: str, providers: list[str]) -> NewKey:
    from db.engine import create_engine
    from domain.access import Role
    from resolvers.access import create_api_key
    from resolvers.context import AppContext

    engine = create_engine(url, 2)
    try:
        return await create_api_key(AppContext(engine), None, name, Role(role), providers)
    finally:
        await engine.dispose()


async def _sync_calendars(settings: Settings, url: str) -> list[CalendarStatus]:
    from db.engine import create_engine
    from resolvers import calendar
    from resolvers.context import AppContext
    from slotwise.calendar_setup import calendar_setup

    setup = calendar_setup(settings)
    if setup is None:
        raise SystemExit("set GOOGLE_CLIENT_ID (and GOOGLE_CLIENT_SECRET) to sync calendars")
    engine = create_engine(url, 2)
    try:
        return await calendar.sync_calendars(AppContext(engine, calendar=setup))
    finally:
        await engine.dispose()


def _serve(settings: Settings, url: str, host: str, port: int) -> None:
    import uvicorn

    from slotwise.app import create_app

    app = create_app(settings, url)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Stop accepting, then close subscriptions with 1001 (uvicorn's own close says 1012).
            for server in self.servers:
                server.close()
            await app.state.close_websockets()
            await super().shutdown(sockets)

    print(f"Slotwise on http://{host}:{port}/graphql", file=sys.stderr)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="asyncio",
        http="httptools",
        log_config=None,  # uvicorn's loggers propagate to the JSON root handler
        timeout_graceful_shutdown=settings.shutdown_seconds,  # type: ignore[arg-type]  # a float works
        ws_max_size=settings.max_body_bytes or 16 * 1024 * 1024,  # a socket message, as a POST body
    )
    Server(config).run()


if __name__ == "__main__":
    sys.exit(main())
