"""`csvscore map` and `csvscore fields`: how a file's columns map, and what the fields are."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from csvscore.cli.env import Env
from csvscore.cli.options import map_options_from, read_options_from, warn_problems
from csvscore.errors import ExitCode

if TYPE_CHECKING:
    from csvscore.pipeline import MappedFile


def cmd_fields(args: argparse.Namespace, env: Env) -> int:
    from csvscore.cli.render import fields_list
    from csvscore.cli.wrap import terminal_width

    print(fields_list(terminal_width(env.stdout)), file=env.stdout)
    return ExitCode.OK


def map_json(mapped: MappedFile) -> dict[str, Any]:
    """The documented ``csvscore map --json`` object."""
    table, mapping = mapped.table, mapped.mapping
    return {
        "file": str(table.path),
        "format": table.format,
        "sheet": table.sheet,
        "header_row": table.header_row,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "rows": len(table.rows),
        "profile": mapping.profile,
        "columns": [
            {
                "index": c.index,
                "header": c.header,
                "field": c.field,
                "confidence": round(c.confidence, 3),
                "method": c.method,
                "sample": c.sample,
                "reason": c.reason,
                "review": c.review,
                "phone_type": c.phone_type,
            }
            for c in mapping.columns
        ],
        "unmapped": [c.unmapped_key for c in mapping.unmapped()],
        "review": [c.index for c in mapping.review()],
        "missing_required": mapping.missing_required(),
        "problems": [{"row": p.source_row, "message": p.message} for p in table.problems],
        "notes": table.notes + mapping.notes,
    }


def cmd_map(args: argparse.Namespace, env: Env) -> int:
    from csvscore.cli.render import describe_table, mapping_table, style_for
    from csvscore.mapping.overrides import save_mapping
    from csvscore.pipeline import map_file

    map_opts = map_options_from(args)
    mapped = map_file(args.file, read_options_from(args), map_opts, env=env.environ)
    if args.save:
        save_mapping(mapped.mapping, args.save, headers=mapped.table.headers)
    if args.json:
        json.dump(map_json(mapped), env.stdout, ensure_ascii=False, indent=2)
        env.stdout.write("\n")
    else:
        style = style_for(env.stdout, env.environ)
        print(describe_table(mapped.table), file=env.stdout)
        print(file=env.stdout)
        print(mapping_table(mapped.mapping, style, threshold=map_opts.threshold), file=env.stdout)
    warn_problems(mapped.table, env)
    if args.save:
        print(f"Saved the mapping to {args.save}", file=env.stderr)
    return ExitCode.OK
