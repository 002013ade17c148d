"""The `digest` command line: a thin click layer over the library."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from .errors import DigestError
from .settings import Settings


class Context:
    """What every command gets: settings and where to print."""

    def __init__(self, settings: Settings, quiet: bool):
        self.settings = settings
        self.quiet = quiet
        self.out = Console(soft_wrap=True)
        self.err = Console(stderr=True, quiet=quiet)

    def print_json(self, data) -> None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))


pass_ctx = click.make_pass_decorator(Context)


class UserError(click.ClickException):
    """A DigestError as click shows it: `Error: <one line>`, exit code 2."""

    exit_code = 2


class DigestGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DigestError as exc:
            raise UserError(_one_line(exc)) from exc


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-w", "--workspace", type=click.Path(file_okay=False, path_type=Path), envvar="DIGEST_WORKSPACE",
              help="Folder with digest.toml, corpus/ and index/ (default: current directory).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or chatter on stderr.")
@click.version_option(package_name="digest")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, quiet: bool) -> None:
    """digest: survey LLM papers - fetch, parse, index, summarize, ask, export."""
    try:
        settings = Settings.load(workspace=workspace)
    except Exception as exc:  # pydantic ValidationError, TOML syntax errors
        raise UserError(f"bad settings (digest.toml or DIGEST_* variables): {_one_line(exc)}") from exc
    ctx.obj = Context(settings, quiet)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


main = cli
