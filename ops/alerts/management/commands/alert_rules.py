"""``manage.py alert_rules export [FILE]`` and ``manage.py alert_rules import FILE...``.

Import is idempotent by rule key (unchanged rules are not touched) and all or nothing: a
file with any problem is refused whole, each problem named with its file, line and field,
and the command exits 1 having stored nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.alerts import rulefiles
from ops.alerts.selectors import alerts as selectors
from ops.alerts.services import rules as services


class Command(BaseCommand):
    help = "Export alert rules as YAML, or import them (idempotent by key, all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write every rule as YAML")
        export.add_argument("file", nargs="?", default="-", help="a path, or - for stdout")
        imp = sub.add_parser("import", help="create or update rules from YAML files")
        imp.add_argument("files", nargs="+", type=Path)
        imp.add_argument("--actor", default="alert_rules", help="who, for the audit")
        imp.add_argument("--dry-run", action="store_true", help="check only")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            text = rulefiles.dump(list(selectors.rule_list()))
            if options["file"] == "-":
                sys.stdout.write(text)
            else:
                Path(options["file"]).write_text(text, encoding="utf-8")
                self.stderr.write(f"wrote {text.count('- key:')} rules to {options['file']}")
            return
        specs: list[tuple[str, dict[str, Any]]] = []
        problems: dict[str, str] = {}
        for path in options["files"]:
            found, errors = rulefiles.read(path)
            problems.update(errors)
            specs.extend((spec.key, spec.values) for spec in found)
        keys = [key for key, _ in specs]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            problems[f"(files): rules.{key}"] = "defined in more than one file"
        if problems:
            for where, message in problems.items():
                self.stderr.write(f"{where}: {message}")
            raise CommandError(f"{len(problems)} problem(s); nothing imported")
        if options["dry_run"]:
            self.stdout.write(f"{len(specs)} rules OK (dry run: nothing written)")
            return
        done = services.rules_apply(specs=specs, actor=options["actor"])
        self.stdout.write(
            f"{len(done['created'])} created, {len(done['updated'])} updated, "
            f"{len(done['unchanged'])} unchanged"
        )
