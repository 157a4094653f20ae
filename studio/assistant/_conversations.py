"""Stored conversations: every Echo Brain exchange kept in the database, resumable by id.

A conversation belongs to one project (deleting the project deletes it) and holds its
messages in order. Only what was said is stored, never the system prompt: that is
rebuilt from the project on every turn, so a conversation resumed after the screenplay
changed talks about the screenplay as it is now.

Contracts (the same on SQLite and PostgreSQL):

- a turn (the user's message and the reply) is written in one transaction, after the
  reply has arrived: a failed or interrupted request leaves the database as it was;
- positions are 0, 1, 2... per conversation, unique; two processes appending to one
  conversation at once cannot interleave: the second write is refused
  (:class:`studio.StorageError`) and can be sent again;
- returned objects are plain frozen values, detached from any session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from studio._exceptions import NotFoundError
from studio.assistant._types import Message, Role
from studio.storage._database import Database
from studio.storage._models import (
    PROPOSAL_STATUSES,
    AssistantConversationModel,
    AssistantMessageModel,
    ProjectModel,
    utcnow,
)

__all__ = ["ConversationInfo", "ConversationStore", "NewMessage", "StoredConversation", "StoredMessage"]

TITLE_CHARS = 80


@dataclass(frozen=True)
class NewMessage:
    """A message to append.

    Attributes:
        role: ``"system"``, ``"user"`` or ``"assistant"``.
        content: Its text.
        model: The model that wrote it (assistant messages).
        prompt_tokens: The size of the request that produced it, when known.
        completion_tokens: Its own size in tokens, when known.
        proposal: A proposal it carried, as JSON-ready data.
        status: The proposal's fate: ``"proposed"``, ``"accepted"`` or ``"rejected"``.
    """

    role: Role
    content: str
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    proposal: dict[str, Any] | None = None
    status: str | None = None


@dataclass(frozen=True)
class StoredMessage:
    """A stored message (the columns of ``assistant_messages``)."""

    position: int
    role: Role
    content: str
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    proposal: dict[str, Any] | None
    status: str | None
    created_at: datetime

    def as_message(self) -> Message:
        """The chat message to send again when the conversation resumes."""
        return Message(self.role, self.content)


@dataclass(frozen=True)
class ConversationInfo:
    """One line of the conversation list."""

    id: int
    project: str
    title: str
    task: str
    model: str | None
    message_count: int
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "title": self.title,
            "task": self.task,
            "model": self.model,
            "messages": self.message_count,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class StoredConversation:
    """A conversation with every message, oldest first."""

    info: ConversationInfo
    messages: tuple[StoredMessage, ...] = field(default=())


def title_from(text: str) -> str:
    """A one-line title from the first message: its start, whitespace collapsed."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


class ConversationStore:
    """Conversations and their messages in the studio database.

    Args:
        database: The studio's database (at a schema with the assistant tables).
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    def __repr__(self) -> str:
        return f"ConversationStore({self._database.display_url!r})"

    def where_project(self, project_id: int | None = None) -> list[ConversationInfo]:
        """Every conversation (of one project when ``project_id`` is given), newest first."""
        counts = (
            select(AssistantMessageModel.conversation_id, func.count().label("n"))
            .group_by(AssistantMessageModel.conversation_id)
            .subquery()
        )
        query = (
            select(AssistantConversationModel, ProjectModel.title, func.coalesce(counts.c.n, 0))
            .join(ProjectModel, ProjectModel.id == AssistantConversationModel.project_id)
            .outerjoin(counts, counts.c.conversation_id == AssistantConversationModel.id)
            .order_by(AssistantConversationModel.updated_at.desc(), AssistantConversationModel.id.desc())
        )
        if project_id is not None:
            query = query.where(AssistantConversationModel.project_id == project_id)
        with self._database.session() as session:
            return [_info(row, title, int(n)) for row, title, n in session.execute(query)]

    def find_or_raise(self, conversation_id: int) -> StoredConversation:
        """The conversation and all its messages.

        Raises:
            NotFoundError: no conversation has that id.
        """
        with self._database.session() as session:
            row = session.get(AssistantConversationModel, conversation_id)
            if row is None:
                raise NotFoundError(
                    f"there is no conversation {conversation_id}; `studio assist chat --list` "
                    "shows the stored ones"
                )
            project = session.get(ProjectModel, row.project_id)
            assert project is not None  # the foreign key guarantees it
            messages = tuple(_message(m) for m in row.messages)
            return StoredConversation(_info(row, project.title, len(messages)), messages)

    def append(
        self,
        conversation_id: int | None,
        messages: Sequence[NewMessage],
        *,
        project_id: int,
        task: str = "chat",
        title: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> tuple[int, int]:
        """Append ``messages`` in one transaction, creating the conversation if needed.

        Args:
            conversation_id: The conversation to continue; ``None`` starts a new one.
            messages: What to append, in order (at least one).
            project_id: The project a new conversation belongs to (ignored when
                continuing one).
            task: The routed task of a new conversation.
            title: A new conversation's title; by default the first message's start.
            meta: Extra data for a new conversation's ``metadata`` column.

        Returns:
            ``(conversation id, position of the first appended message)``.

        Raises:
            NotFoundError: ``conversation_id`` does not exist.
            ValueError: no messages, or an unknown role or status.
            StorageError: the database refused the write (another writer took the
                same position); nothing is written.
        """
        if not messages:
            raise ValueError("append() needs at least one message")
        for message in messages:
            if message.status is not None and message.status not in PROPOSAL_STATUSES:
                raise ValueError(f"unknown proposal status {message.status!r}")
        with self._database.session() as session:
            if conversation_id is None:
                first_model = next((m.model for m in messages if m.model), None)
                row = AssistantConversationModel(
                    project_id=project_id,
                    title=title or title_from(messages[0].content),
                    task=task,
                    model=first_model,
                    meta=dict(meta or {}),
                )
                session.add(row)
                session.flush()
                start = 0
            else:
                found = session.get(AssistantConversationModel, conversation_id)
                if found is None:
                    raise NotFoundError(f"there is no conversation {conversation_id}")
                row = found
                last = session.scalar(
                    select(func.max(AssistantMessageModel.position)).where(
                        AssistantMessageModel.conversation_id == row.id
                    )
                )
                start = 0 if last is None else last + 1
                row.updated_at = utcnow()  # onupdate fires only when a column changes
            for offset, message in enumerate(messages):
                session.add(
                    AssistantMessageModel(
                        conversation_id=row.id,
                        position=start + offset,
                        role=message.role,
                        content=message.content,
                        model=message.model,
                        prompt_tokens=message.prompt_tokens,
                        completion_tokens=message.completion_tokens,
                        proposal=message.proposal,
                        status=message.status,
                    )
                )
            return row.id, start

    def set_status(self, conversation_id: int, position: int, status: str) -> None:
        """Record a proposal's fate (``"accepted"`` or ``"rejected"``).

        Raises:
            NotFoundError: no such message.
            ValueError: an unknown status.
        """
        if status not in PROPOSAL_STATUSES:
            raise ValueError(f"unknown proposal status {status!r}")
        with self._database.session() as session:
            message = session.scalars(
                select(AssistantMessageModel).where(
                    AssistantMessageModel.conversation_id == conversation_id,
                    AssistantMessageModel.position == position,
                )
            ).one_or_none()
            if message is None:
                raise NotFoundError(f"conversation {conversation_id} has no message {position}")
            message.status = status
            conversation = session.get(AssistantConversationModel, conversation_id)
            assert conversation is not None
            conversation.updated_at = utcnow()


def _info(row: AssistantConversationModel, project: str, count: int) -> ConversationInfo:
    return ConversationInfo(
        id=row.id,
        project=project,
        title=row.title,
        task=row.task,
        model=row.model,
        message_count=count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _message(row: AssistantMessageModel) -> StoredMessage:
    role: Role = row.role  # type: ignore[assignment]  # the CHECK constraint guarantees it
    return StoredMessage(
        position=row.position,
        role=role,
        content=row.content,
        model=row.model,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        proposal=row.proposal,
        status=row.status,
        created_at=row.created_at,
    )
