"""`mlops rules` and `mlops rules explain`: the registry of rules, as a listing or one explanation."""

from __future__ import annotations

import click

from ..policies import all_rules, rule_by_id
from ..rules_doc import explain_rule, rules_listing
from .group import EPILOG_EXIT, handle_errors, main


@main.group(invoke_without_command=True, epilog=EPILOG_EXIT)
@click.option("--output", "-o", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="markdown prints the table that README carries.")
@click.pass_context
def rules(ctx: click.Context, output_format: str) -> None:
    """List the policy rules that `mlops validate` applies (id, severity, where, summary).

    Turn a rule off or change its severity in mlops.yaml under `rules:`; waive it on one object
    with the annotation waive.mlops.dev/<rule-id>: "<reason>". `mlops rules explain ID` tells more.
    """
    if ctx.invoked_subcommand is not None:
        return
    click.echo(rules_listing(all_rules(), output_format), nl=False)


@rules.command("explain", epilog=EPILOG_EXIT)
@click.argument("rule_id", metavar="ID")
@handle_errors
def rules_explain(rule_id: str) -> None:
    """Explain one rule: why it exists, where it applies and how to fix what it finds."""
    click.echo(explain_rule(rule_by_id(rule_id)), nl=False)
