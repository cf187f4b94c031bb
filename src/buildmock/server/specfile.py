"""Spec documents parsed once per process: every app built after the first gets its own copy cheaply."""

from __future__ import annotations

import hashlib
import pickle
import threading
from pathlib import Path
from typing import Any

import yaml

#: libyaml's loader when PyYAML has it (ten times faster on the specs: start-up), else PyYAML's.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Distinct documents remembered at most (the specs and the control API's spec are six); past it, all
#: are forgotten and parsed again on next use.
REMEMBERED = 32

_parsed: dict[bytes, bytes] = {}
_lock = threading.Lock()


def load_spec(path: Path) -> Any:
    """``path`` parsed as YAML, a new object on every call (the caller may change it).

    A process that builds many apps (a test session, the pytest plugin's mock per test) parsed the same
    specs each time: ~100 ms of a ~110 ms ``create_app`` with every vendor. The parse is kept pickled,
    keyed by the file's content (an edited file is parsed afresh), and unpickling it is ~50x cheaper.
    """
    text = path.read_bytes()
    key = hashlib.blake2b(text, digest_size=16).digest()
    pickled = _parsed.get(key)
    if pickled is None:
        pickled = pickle.dumps(yaml.load(text, Loader=LOADER), protocol=pickle.HIGHEST_PROTOCOL)
        with _lock:
            if len(_parsed) >= REMEMBERED:
                _parsed.clear()
            _parsed[key] = pickled
    return pickle.loads(pickled)
