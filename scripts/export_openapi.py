"""Write the platform's OpenAPI document (for the web client's generated types).

Builds the FastAPI app object only: nothing is started (``.openapi()`` does not run
the lifespan), so no database, simulator or key files are touched.

    .venv/bin/python scripts/export_openapi.py [web/openapi.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from quantum.platform.app import create_platform_app

DEFAULT = Path(__file__).resolve().parent.parent / "web" / "openapi.json"


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else DEFAULT
    document = create_platform_app().openapi()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target} ({len(document.get('paths', {}))} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
