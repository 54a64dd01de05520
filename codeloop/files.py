"""Reading the JSON/YAML files users hand to codeloop (tests, scripted replies), with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codeloop.errors import ConfigError


def read_json_or_yaml(path: str | Path, what: str) -> Any:
    """The parsed content of ``path`` (YAML for .yaml/.yml, JSON otherwise).

    Raises:
        ConfigError: the file cannot be read or does not parse; ``what`` names it in the message.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what} {file}: {getattr(exc, 'strerror', None) or exc}") from exc
    is_yaml = file.suffix in (".yaml", ".yml")
    try:
        if is_yaml:
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except Exception as exc:
        raise ConfigError(f"the {what} {file} is not valid {'YAML' if is_yaml else 'JSON'}: {exc}") from exc
