"""The outbox deliverer of ``publish.*`` items (``publish.confluence``, ``publish.git``): reads the
postmortem as of its last change and the previous publication (``PublishingUseCases``), renders it (the
Confluence template, or the Markdown one, from the same ``PostmortemData``), publishes it, and records the
publication as a ``postmortem_published`` entry.

A crash or a failed commit between the target's answer and the record leaves the item pending: the next
attempt finds the page (by its id or its labelled title) or the file, sees it already shows this content,
and records the same publication (``PublishingUseCases.record`` records a ref and version once). Failures:
Confluence's 429/5xx/no answer and git's unreachable remote are RetryLater (with ``Retry-After``); 400,
401, 403, 404, someone else's page under the title, git's other errors and a template that fails are
Undeliverable, with the reason ``incidentbot outbox --status dead`` shows (never the API token).
"""

from __future__ import annotations

import asyncio

import structlog

from bot.domain.effects import OutboxItem
from bot.domain.model import format_incident_id
from bot.errors import ConcurrentUpdate, StoreUnavailable, TemplateError
from bot.integrations.publishing.confluence import ConfluencePublisher, PageDraft, page_label, page_title
from bot.integrations.publishing.git import GitError, GitPublisher
from bot.integrations.trackers.port import TrackerError, outbox_error
from bot.outbox.worker import RetryLater, Undeliverable
from bot.usecases.publishing import PUBLISH_LANE, Publication, PublishingUseCases
from bot.usecases.shared import EffectPlan
from bot.views.postmortem import PostmortemRenderer

log = structlog.get_logger("incidentbot.publishing")


class PublishDeliverer:
    """Route it by the ``publish`` kind prefix; ``confluence`` and ``git`` are the configured targets (None:
    an item for it is dead, "not configured"); ``plan`` gives the effects a recorded publication owes (the
    incident channel's line, Slack's ``publication_effects``, injected by ``bot.app``)."""

    def __init__(
        self,
        publishing: PublishingUseCases,
        renderer: PostmortemRenderer,
        confluence: ConfluencePublisher | None = None,
        git: GitPublisher | None = None,
        plan: EffectPlan | None = None,
    ) -> None:
        self.publishing = publishing
        self.renderer = renderer
        self.confluence = confluence
        self.git = git
        self.plan = plan

    async def __call__(self, item: OutboxItem) -> None:
        """Raises RetryLater or Undeliverable (see the module docstring)."""
        prefix, _, target = item.kind.partition(".")
        number = item.incident_number
        if prefix != PUBLISH_LANE or number is None:
            raise Undeliverable(f"malformed publishing item {item.kind!r}")
        incident = format_incident_id(number)
        try:
            publication = await self._publish(target, number)
        except TemplateError as exc:
            log.warning("postmortem_publish_failed", incident=incident, target=target, reason=exc.user_message)
            raise Undeliverable(exc.user_message) from exc
        except TrackerError as exc:
            log.warning("postmortem_publish_failed", incident=incident, target=target, reason=exc.reason)
            raise outbox_error(exc) from exc
        except GitError as exc:
            log.warning("postmortem_publish_failed", incident=incident, target=target, reason=exc.reason)
            raise (RetryLater(exc.reason) if exc.temporary else Undeliverable(exc.reason)) from exc
        try:
            await asyncio.to_thread(self.publishing.record, number, publication, self.plan)
        except (StoreUnavailable, ConcurrentUpdate, OSError) as exc:  # published, not recorded: the next try finds it
            reason = f"published to {target} as {publication.ref} but not recorded yet: {exc}"
            log.warning("postmortem_publication_unrecorded", incident=incident, target=target, reason=reason)
            raise RetryLater(reason[:500]) from exc

    async def _publish(self, target: str, number: int) -> Publication:
        data = await asyncio.to_thread(self.publishing.document, number)
        known = await asyncio.to_thread(self.publishing.last_publication, number, target)
        if target == "confluence":
            if self.confluence is None:
                raise Undeliverable("Confluence is not configured (CONFLUENCE_URL...): nothing to publish to")
            installation = await asyncio.to_thread(self.publishing.installation_id)
            draft = PageDraft(
                page_title(data.incident_id, data.title),
                self.renderer.render_storage(data),
                page_label(installation, number),
            )
            return await self.confluence.publish(draft, known)
        if target == "git":
            git = self.git
            if git is None:
                raise Undeliverable("No Git repository is configured (POSTMORTEM_GIT_REPO): nothing to publish to")
            content = self.renderer.render(data)
            installation = await asyncio.to_thread(self.publishing.installation_id)
            return await asyncio.to_thread(
                git.publish,
                data.incident_id,
                data.title,
                content,
                known,
                page_label(installation, number),
            )
        raise Undeliverable(f"unknown publishing target {target!r}")
