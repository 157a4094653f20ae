"""Spoken lines, cached by what makes their sound: engine, text, voice and settings.

A re-render (or another episode repeating a line) reads the audio back instead of
asking the engine again. Files are ``HOME/cache/speech/<sha256>.wav``, already decoded
and trimmed (:func:`studio.sound.decode_speech`), written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from studio.sound._tts import Speech, SpeechRequest, TtsBackend, decode_speech, read_wav, write_wav

__all__ = ["CACHE_DIR", "SpeechCache"]

CACHE_DIR = Path("cache") / "speech"
_FORMAT = 1  # bump when decoding or trimming changes, so old entries are not reused


class SpeechCache:
    def __init__(self, home: Path) -> None:
        self.folder = home / CACHE_DIR

    def key(self, backend: TtsBackend, request: SpeechRequest) -> str:
        voice = request.voice
        document = {
            "format": _FORMAT,
            "engine": backend.identity(),
            "text": request.text,
            "voice": voice.id,
            "speed": round(voice.speed, 4),
            "pitch": round(voice.pitch, 4),
        }
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.wav"

    async def speak(
        self, backend: TtsBackend, request: SpeechRequest, *, what: str
    ) -> tuple[Speech, Path, bool]:
        """The line's speech, its cached file, and whether it came from the cache."""
        path = self.path(self.key(backend, request))
        if path.is_file():
            return Speech(read_wav(path)), path, True
        data = await backend.speak(request)
        speech = decode_speech(data, what=what)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        write_wav(partial, speech.samples)
        os.replace(partial, path)
        return Speech(read_wav(path)), path, False
