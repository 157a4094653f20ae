"""The embedded speech engine: Debian's ``espeak-ng``, run as a subprocess.

It needs no server and no model download, so ``studio demo`` has voices on any machine
with ``apt-get install espeak-ng``. Voice ids are espeak-ng's (``en-us``, ``en-gb``,
``en-us+f3`` for a variant; ``espeak-ng --voices`` lists them); speed 1.0 is 175 words
per minute; pitch shifts espeak's 0–99 pitch scale (50 is natural) by about 4 steps a
semitone.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from studio._config import Settings
from studio.sound._tts import SpeechError, SpeechRequest, TtsUnavailableError, UnknownVoiceError

__all__ = ["DEFAULT_ESPEAK_VOICE", "EspeakBackend"]

DEFAULT_ESPEAK_VOICE = "en-us"
WORDS_PER_MINUTE = 175
PITCH_STEPS_PER_SEMITONE = 4.0
ESPEAK_TIMEOUT_SECONDS = 60.0


class EspeakBackend:
    """``espeak-ng`` as a :class:`studio.sound.TtsBackend`."""

    name = "espeak"

    def __init__(self, executable: str | None = None) -> None:
        self._executable = executable or shutil.which("espeak-ng") or shutil.which("espeak")

    def identity(self) -> str:
        return "espeak-ng"

    async def speak(self, request: SpeechRequest) -> bytes:
        if self._executable is None:
            raise TtsUnavailableError(
                "espeak-ng is not installed, so dialogue cannot be spoken: install it "
                "(apt-get install espeak-ng) or point STUDIO_TTS_URL at an OpenAI-compatible "
                "speech server"
            )
        voice = request.voice
        words = round(min(450, max(80, WORDS_PER_MINUTE * voice.speed)))
        pitch = round(min(99, max(0, 50 + PITCH_STEPS_PER_SEMITONE * voice.pitch)))
        with tempfile.TemporaryDirectory(prefix="studio-espeak-") as folder:
            out = Path(folder) / "line.wav"
            process = await asyncio.create_subprocess_exec(
                self._executable,
                "-v", voice.id or DEFAULT_ESPEAK_VOICE,
                "-s", str(words),
                "-p", str(pitch),
                "-w", str(out),
                "--", request.text,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "LC_ALL": "C.UTF-8"},
            )  # fmt: skip
            try:
                _, stderr = await asyncio.wait_for(process.communicate(), ESPEAK_TIMEOUT_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise SpeechError(f"espeak-ng did not finish within {ESPEAK_TIMEOUT_SECONDS:g} s") from None
            message = stderr.decode(errors="replace").strip()
            if process.returncode != 0 or not out.is_file():
                if "voice does not exist" in message or "Failed to read voice" in message:
                    raise UnknownVoiceError(
                        f"espeak-ng has no voice {voice.id!r}; `espeak-ng --voices` lists them "
                        "(e.g. en-us, en-gb, en-us+f3)"
                    )
                raise SpeechError(f"espeak-ng failed (exit {process.returncode}): {message or 'no message'}")
            return out.read_bytes()

    async def aclose(self) -> None:
        return None


def create_espeak_backend(settings: Settings) -> EspeakBackend:
    return EspeakBackend()
