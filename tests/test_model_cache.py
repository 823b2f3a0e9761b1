"""The converted-model cache is keyed by the model file's content, not its path or time: a second install of the
same model (another virtualenv, a clean clone) finds the converted copy instead of converting again."""

from __future__ import annotations

import os
import shutil

from redline.targets.local import gguf_fingerprint


def test_the_same_model_file_elsewhere_has_the_same_tag_and_a_changed_one_does_not(tmp_path) -> None:
    model = tmp_path / "a" / "m.gguf"
    model.parent.mkdir()
    model.write_bytes(bytes(range(256)) * 40_000)  # ~10 MiB: both edges and the middle differ in what is read
    copy = tmp_path / "b" / "m.gguf"
    copy.parent.mkdir()
    shutil.copyfile(model, copy)
    os.utime(copy, (1, 1))
    assert gguf_fingerprint(copy) == gguf_fingerprint(model)
    changed = bytearray(model.read_bytes())
    changed[-1] ^= 0xFF
    copy.write_bytes(bytes(changed))
    assert gguf_fingerprint(copy) != gguf_fingerprint(model)
    copy.write_bytes(model.read_bytes() + b"\0")
    assert gguf_fingerprint(copy) != gguf_fingerprint(model)
