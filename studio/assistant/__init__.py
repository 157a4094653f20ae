"""Echo Brain: a creative assistant on any OpenAI-compatible model server.

Works with Ollama, vLLM, llama.cpp's server, LM Studio and OpenAI through
``/v1/chat/completions`` (plain and streamed), ``/v1/models`` and ``/v1/embeddings``.
Every answer that would change data is a pydantic proposal (:class:`SceneBreakdown`,
:class:`SceneExpansion`, :class:`PromptSuggestion`, :class:`CharacterSheet`), validated
here and applied only when the user accepts it. Conversations are stored and resumable
(:class:`ConversationStore`); :func:`recall` finds characters, scenes and feedback notes
by meaning with an :class:`Embedder`. With no server configured, or the
server down, every call raises :class:`AssistantOfflineError` and nothing else in the
studio is affected.

The public API is what ``__all__`` lists; everything else lives in private modules.
"""

from __future__ import annotations

from studio.assistant._assist import ChatReply, EchoBrain
from studio.assistant._client import AsyncChatClient, ChatClient, ClientState
from studio.assistant._context import (
    CONTEXT_TOKENS_VARIABLE,
    DEFAULT_CONTEXT_TOKENS,
    DEFAULT_REPLY_TOKENS,
    FittedContext,
    configured_context_tokens,
    estimate_message_tokens,
    estimate_tokens,
    fit_messages,
)
from studio.assistant._conversations import (
    ConversationInfo,
    ConversationStore,
    NewMessage,
    StoredConversation,
    StoredMessage,
)
from studio.assistant._embeddings import (
    Embedder,
    LocalEmbedder,
    ServerEmbedder,
    cosine_similarity,
    create_embedder,
    rank_by_similarity,
)
from studio.assistant._exceptions import (
    AssistantError,
    AssistantOfflineError,
    AssistantServerError,
    AssistantTimeoutError,
    ContextTooLargeError,
    EmbeddingsUnavailableError,
    MalformedOutputError,
    ModelNotConfiguredError,
    ModelNotFoundError,
    SegmentLockedError,
    StaleProposalError,
)
from studio.assistant._prompting import PromptProposal
from studio.assistant._proposals import Proposal
from studio.assistant._recall import RecallItem, RecallMatch, recall, recall_items
from studio.assistant._routing import TASKS, Router
from studio.assistant._schemas import (
    CharacterDirection,
    CharacterSheet,
    DialogueProposal,
    PromptSuggestion,
    SceneBreakdown,
    SceneExpansion,
    ScenePlan,
)
from studio.assistant._structured import (
    parse_structured,
    response_format_for,
    schema_instruction,
)
from studio.assistant._timeouts import DEFAULT_TIMEOUTS, Timeouts
from studio.assistant._types import ChatChunk, ChatCompletion, Message, Usage

__all__ = [
    "CONTEXT_TOKENS_VARIABLE",
    "DEFAULT_CONTEXT_TOKENS",
    "DEFAULT_REPLY_TOKENS",
    "DEFAULT_TIMEOUTS",
    "TASKS",
    "AssistantError",
    "AssistantOfflineError",
    "AssistantServerError",
    "AssistantTimeoutError",
    "AsyncChatClient",
    "CharacterDirection",
    "CharacterSheet",
    "ChatChunk",
    "ChatClient",
    "ChatCompletion",
    "ChatReply",
    "ClientState",
    "ContextTooLargeError",
    "ConversationInfo",
    "ConversationStore",
    "DialogueProposal",
    "EchoBrain",
    "Embedder",
    "EmbeddingsUnavailableError",
    "FittedContext",
    "LocalEmbedder",
    "MalformedOutputError",
    "Message",
    "ModelNotConfiguredError",
    "ModelNotFoundError",
    "NewMessage",
    "PromptProposal",
    "PromptSuggestion",
    "Proposal",
    "RecallItem",
    "RecallMatch",
    "Router",
    "SceneBreakdown",
    "SceneExpansion",
    "ScenePlan",
    "SegmentLockedError",
    "ServerEmbedder",
    "StaleProposalError",
    "StoredConversation",
    "StoredMessage",
    "Timeouts",
    "Usage",
    "configured_context_tokens",
    "cosine_similarity",
    "create_embedder",
    "estimate_message_tokens",
    "estimate_tokens",
    "fit_messages",
    "parse_structured",
    "rank_by_similarity",
    "recall",
    "recall_items",
    "response_format_for",
    "schema_instruction",
]

for _name in __all__:
    _obj = globals()[_name]
    _is_definition = isinstance(_obj, type) or callable(_obj) and hasattr(_obj, "__qualname__")
    if _is_definition and _obj.__module__.startswith("studio.assistant._"):
        _obj.__module__ = "studio.assistant"
