"""The ``revcast`` command: a thin wrapper over Django management commands."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revcast.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["version"]):
        from importlib.metadata import version

        print(f"revcast {version('revcast')}")
        return
    execute_from_command_line(["revcast", *args])


if __name__ == "__main__":
    main()
