"""Sound for an episode: voices (text to speech), music and effects, subtitles.

The speech engines share one contract (:class:`TtsBackend`) and a registry, like the
generation backends: ``espeak`` (embedded, Debian's espeak-ng) and ``openai`` (any
OpenAI-compatible ``/v1/audio/speech`` server). Names load on first use.
"""

import typing as _typing

from studio._lazy import lazy_names as _lazy_names

if _typing.TYPE_CHECKING:
    from studio.sound._episode import finish_episode_sound, read_sound_record
    from studio.sound._speech import EpisodeSpeech, SpokenLine, speak_episode
    from studio.sound._tts import (
        BadAudioError,
        MixError,
        SoundError,
        Speech,
        SpeechError,
        SpeechRequest,
        TtsBackend,
        TtsUnavailableError,
        UnknownVoiceError,
        Voice,
        available_tts_backends,
        create_tts_backend,
        decode_speech,
        register_tts_backend,
    )
    from studio.sound._views import sound_html, subtitles_track_html, waveform_figure

_LAZY = {
    "BadAudioError": "_tts",
    "EpisodeSpeech": "_speech",
    "MixError": "_tts",
    "SoundError": "_tts",
    "Speech": "_tts",
    "SpeechError": "_tts",
    "SpeechRequest": "_tts",
    "SpokenLine": "_speech",
    "TtsBackend": "_tts",
    "TtsUnavailableError": "_tts",
    "UnknownVoiceError": "_tts",
    "Voice": "_tts",
    "available_tts_backends": "_tts",
    "create_tts_backend": "_tts",
    "decode_speech": "_tts",
    "finish_episode_sound": "_episode",
    "read_sound_record": "_episode",
    "register_tts_backend": "_tts",
    "sound_html": "_views",
    "speak_episode": "_speech",
    "subtitles_track_html": "_views",
    "waveform_figure": "_views",
}

__all__ = [
    "BadAudioError",
    "EpisodeSpeech",
    "MixError",
    "SoundError",
    "Speech",
    "SpeechError",
    "SpeechRequest",
    "SpokenLine",
    "TtsBackend",
    "TtsUnavailableError",
    "UnknownVoiceError",
    "Voice",
    "available_tts_backends",
    "create_tts_backend",
    "decode_speech",
    "finish_episode_sound",
    "read_sound_record",
    "register_tts_backend",
    "sound_html",
    "speak_episode",
    "subtitles_track_html",
    "waveform_figure",
]

__getattr__, __dir__ = _lazy_names(globals(), _LAZY)
