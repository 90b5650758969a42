"""revcast serve [--host] [--port] [--workers N] [--dev]: serve an existing database with gunicorn."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve revcast with gunicorn (static files by whitenoise). --dev uses Django's runserver."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--dev", action="store_true", help="Django's development server (auto-reload).")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if options["dev"]:
            call_command("runserver", f"{host}:{port}")
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"revcast serving at http://{host}:{port}/ (Ctrl-C to stop)")
        self.stdout.flush()
        _run_gunicorn(host, port, options["workers"])


def _run_gunicorn(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from revcast.wsgi import application

    class RevcastApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": 4,
                "accesslog": "-",
                "timeout": 120,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    RevcastApplication().run()
