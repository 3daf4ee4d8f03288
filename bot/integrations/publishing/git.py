"""The postmortem as a Markdown file in a Git repository: written into a configured local clone, committed
with the ``git`` command line and pushed to its remote ``origin``.

One file per incident, ``<dir>/INC-<n>-<slug>.md`` (the slug from the title when first published; kept
afterwards, so a renamed incident keeps its file). **Exactly once** because the file's content is the
state: a publication writes the file, and commits only when it changed (``git diff --cached --quiet``),
so a retry after a crash, another replica, or a re-publish with no change makes no commit. The commit
message names the incident (``INC-7: postmortem published by incidentbot``); author and committer are
``incidentbot``. A push the remote rejects because it moved on (someone else pushed) fetches, rebases
onto it and pushes again (up to MAX_PUSH_ATTEMPTS); a rebase that conflicts is abandoned, the branch
reset to the remote's and the file written and committed again on top. Replicas sharing the clone take
turns on a lock file in its ``.git`` folder.

**Nothing of anyone else's is touched.** Every file ends with an ownership line, an HTML comment Markdown
does not show (``<!-- incidentbot-<installation>-inc-7: ... -->``, the same marker as the Confluence
label); a file of the incident's name without it (a hand-written INC-7 from before the bot, another
installation's) is never overwritten: the publication is refused naming it. A clone with uncommitted
changes to tracked files, or with commits on the branch that are neither the remote's nor the bot's, is
refused too (rebasing or resetting it would lose or push someone's work).

Only ``git`` itself is run, with an argument list and no shell (``subprocess.run``). GitPython or pygit2
would add a library (pygit2 a C one) for what six commands do, and the CLI is what people debug with.
Failures are GitError with git's own message: temporary (the remote unreachable, a lock held, a timeout)
or permanent (everything else: not a repository, a branch that does not exist, a push refused by a
hook or by permissions).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.usecases.publishing import Publication

MAX_PUSH_ATTEMPTS = 4
GIT_TIMEOUT_SECONDS = 120.0
AUTHOR = ("incidentbot", "incidentbot@localhost")
_TEMPORARY = re.compile(
    r"could not resolve host|connection refused|failed to connect|timed out|connection reset|"
    r"index\.lock|cannot lock ref|temporary failure|network is unreachable|early eof|"
    r"returned error: (?:429|5\d\d)",
    re.IGNORECASE,
)
"""git's words for a failure that may pass (the remote unreachable or overloaded, a lock another git holds);
anything else, such as ``The requested URL returned error: 403`` or a missing repository, is permanent."""
_REJECTED = re.compile(r"\[rejected\]|non-fast-forward|fetch first", re.IGNORECASE)
"""A push refused because the remote moved on (``git push --porcelain``'s ``[rejected] (fetch first)``), as
opposed to one a hook or a permission refused (``[remote rejected]``), which retrying cannot help."""
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def ownership_line(marker: str) -> str:
    """The last line of every file the bot publishes: an HTML comment (Markdown shows nothing) naming the
    installation and incident (``marker``, e.g. ``incidentbot-1b2c-inc-7``)."""
    return f"<!-- {marker}: published by incidentbot; edits here are replaced at the next publish -->"


def _owned(file: Path, marker: str) -> bool:
    try:
        return f"<!-- {marker}:" in file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


class GitError(Exception):
    """A git command failed: ``reason`` is one line for people with git's own message (credentials in a
    remote's URL removed); ``temporary`` says whether trying again later may help."""

    def __init__(self, reason: str, temporary: bool = False, rejected: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary
        self.rejected = rejected
        """A push refused because the remote moved on (fetch, rebase and push again)."""


@dataclass(frozen=True)
class GitTarget:
    """The configured clone (``repo``), the branch to publish on (None: the clone's current branch) and the
    folder inside the repository (``postmortems``)."""

    repo: Path
    branch: str | None = None
    folder: str = "postmortems"


def slug(title: str, limit: int = 60) -> str:
    """A file-name part from ``title``: ASCII lower-case letters and digits joined by ``-`` (accents folded,
    everything else a separator), at most ``limit`` characters; ``postmortem`` when nothing is left."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    text = _SLUG_CHARS.sub("-", folded).strip("-")[:limit].rstrip("-")
    return text or "postmortem"


def redact_url(text: str) -> str:
    """``text`` with the user and password of any ``scheme://user:pass@host`` URL removed."""
    return _CREDENTIALS.sub("", text)


class GitPublisher:
    """Publishes files into one clone (see the module docstring). Blocking: call it in a thread."""

    name = "git"

    def __init__(self, target: GitTarget) -> None:
        self.target = target

    def check(self) -> str:
        """The clone's branch and remote as one line (``main -> https://example.com/pm.git``). Raises GitError
        when the folder is not a clone, has no ``origin`` or the branch does not exist."""
        branch = self._branch()
        self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
        remote = redact_url(self._git("remote", "get-url", "origin").strip())
        return f"{branch} -> {remote}"

    def reach_remote(self) -> None:
        """Read the remote's branches (``git ls-remote --heads origin``): raises GitError when it cannot be
        reached or read with the clone's credentials."""
        self._git("ls-remote", "--heads", "origin")

    def existing_path(self, incident_id: str, marker: str) -> str | None:
        """The path (relative to the repository) of the file already published for ``incident_id`` (the one
        carrying ``marker``), if any. Raises GitError when a file of that name lacks the marker: not ours."""
        folder = self.target.repo / self.target.folder
        found = sorted(folder.glob(f"{incident_id}-*.md")) + sorted(folder.glob(f"{incident_id}.md"))
        ours = [file for file in found if _owned(file, marker)]
        if ours:
            return ours[0].relative_to(self.target.repo).as_posix()
        if found:
            raise self._not_ours(found[0].relative_to(self.target.repo).as_posix(), marker)
        return None

    def marked_path(self, marker: str) -> str | None:
        """Where in the repository the file carrying ``marker``'s ownership line is now (a person may have
        moved or renamed it), if anywhere: ``git grep`` over the tracked Markdown files."""
        result = self._run(("grep", "-l", "-F", f"<!-- {marker}:", "--", "*.md"))
        found = sorted(result.stdout.splitlines()) if result.returncode == 0 else []
        return found[0] if found else None

    def publish(
        self,
        incident_id: str,
        title: str,
        content: str,
        known: Publication | None = None,
        marker: str = "incidentbot",
    ) -> Publication:
        """Write ``content`` (with ``marker``'s ownership line) to the incident's file, commit it when it
        changed and push; returns the publication (the file's path, a link to it, the hash of the last commit
        that changed it, the content's digest). ``known``: the publication recorded before. The file is found
        by its ownership line wherever a person moved it (else where ``known`` put it, else by name); when
        ``known`` sent this very content and the file is still there, nothing is written and ``known`` is
        returned (a person's edit since is kept until there is something new). Raises GitError (temporary when
        the remote kept moving on: MAX_PUSH_ATTEMPTS rejections in a row)."""
        content = f"{content.rstrip()}\n\n{ownership_line(marker)}\n"
        digest = hashlib.sha256(content.encode()).hexdigest()[:24]
        with self._locked():
            branch = self._branch()
            self._sync(branch)
            path = (
                self.marked_path(marker)
                or (known.ref if known is not None and not (self.target.repo / known.ref).exists() else None)
                or self.existing_path(incident_id, marker)
                or f"{self.target.folder}/{incident_id}-{slug(title)}.md"
            )
            self._check_path(path)
            file = self.target.repo / path
            if file.exists() and not _owned(file, marker):
                raise self._not_ours(path, marker)
            if known is not None and known.digest == digest and file.exists():
                return known
            for attempt in range(1, MAX_PUSH_ATTEMPTS + 1):
                self._write(path, content, incident_id)
                if not self._ahead(branch):
                    break
                try:
                    self._git("push", "--porcelain", "origin", f"HEAD:refs/heads/{branch}")
                    break
                except GitError as exc:
                    if exc.temporary or not exc.rejected:
                        raise
                    if attempt == MAX_PUSH_ATTEMPTS:  # a busy remote: try again later, as for a 409
                        raise GitError(exc.reason, temporary=True, rejected=True) from exc
                    self._sync(branch)  # the remote moved on: rebase onto it (or start again from it)
            version = self._git("log", "-1", "--format=%H", "--", path).strip()
            return Publication("git", path, self._link(branch, path), version, digest)

    # -- steps ---------------------------------------------------------------------------------

    def _branch(self) -> str:
        if self.target.branch:
            return self.target.branch
        result = self._run(("symbolic-ref", "--quiet", "--short", "HEAD"))
        name = result.stdout.strip() if result.returncode == 0 else ""
        if not name:
            if not (self.target.repo / ".git").exists():
                raise self._not_a_clone()
            raise GitError(
                f"{self.target.repo}: HEAD is detached: set POSTMORTEM_GIT_BRANCH to the branch to publish on."
            )
        return name

    def _sync(self, branch: str) -> None:
        """Bring the branch onto the remote's: fetch, check it out, rebase our unpushed commits onto the
        remote's (or drop them when that conflicts: the file is written again from the state). Raises
        GitError when the clone holds someone's uncommitted changes or unpushed commits."""
        changed = self._git("status", "--porcelain", "--untracked-files=no").strip()
        if changed:
            raise GitError(
                f"{self.target.repo} has uncommitted changes ({len(changed.splitlines())} tracked files): "
                "incidentbot publishes only into a clean clone; commit or stash them, or give it a clone of its own."
            )
        self._git("fetch", "--quiet", "origin")
        self._git("checkout", "--quiet", branch)
        remote = f"refs/remotes/origin/{branch}"
        if not self._succeeds("rev-parse", "--verify", "--quiet", remote):
            return  # a branch the remote does not have yet: the push creates it
        authors = self._git("log", "--format=%an", f"{remote}..HEAD").split()
        foreign = [author for author in authors if author != AUTHOR[0]]
        if foreign:
            raise GitError(
                f"{self.target.repo} has {len(foreign)} commit(s) on {branch} that are not on origin and not "
                "incidentbot's: push or drop them; incidentbot never pushes someone else's work."
            )
        if not self._succeeds("rebase", "--quiet", remote):
            self._succeeds("rebase", "--abort")
            self._git("reset", "--quiet", "--hard", remote)

    def _write(self, path: str, content: str, incident_id: str) -> None:
        """The file written and committed if its content differs from the branch's."""
        file = self.target.repo / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(content, encoding="utf-8")
        self._git("add", "--", path)
        if self._succeeds("diff", "--cached", "--quiet", "--", path):
            return
        self._git(
            "commit", "--quiet", "--no-verify", "-m", f"{incident_id}: postmortem published by incidentbot", "--", path
        )

    def _ahead(self, branch: str) -> bool:
        """True when the branch has commits the remote does not (or the remote has no such branch)."""
        remote = f"refs/remotes/origin/{branch}"
        if not self._succeeds("rev-parse", "--verify", "--quiet", remote):
            return True
        return self._git("rev-list", "--count", f"{remote}..HEAD").strip() != "0"

    def _check_path(self, path: str) -> None:
        resolved = (self.target.repo / path).resolve()
        if not resolved.is_relative_to(self.target.repo.resolve()) or "/.git/" in f"/{path}/":
            raise GitError(f"{path} is outside the repository: check POSTMORTEM_GIT_DIR.")

    def _link(self, branch: str, path: str) -> str:
        """A web link to the file for GitHub- or GitLab-style remotes (``https://host/owner/repo/blob/main/...``),
        else ``<remote> <branch>:<path>``; credentials never included."""
        remote = redact_url(self._git("remote", "get-url", "origin").strip())
        scp = re.fullmatch(r"[\w.-]+@([\w.-]+):(.+?)(?:\.git)?/?", remote)
        web = re.fullmatch(r"https?://([^/]+)/(.+?)(?:\.git)?/?", remote)
        if scp or web:
            host, repo = (scp or web).groups()  # type: ignore[union-attr]
            return f"https://{host}/{repo}/blob/{branch}/{path}"
        return f"{remote} {branch}:{path}"

    def _not_a_clone(self) -> GitError:
        return GitError(f"{self.target.repo} is not a Git clone (no .git): check POSTMORTEM_GIT_REPO.")

    def _not_ours(self, path: str, marker: str) -> GitError:
        return GitError(
            f"{path} in {self.target.repo} was not published by this incidentbot (its last line is not "
            f"`<!-- {marker}: ...`; a hand-written file, or another installation's): it is never overwritten; "
            "rename or move it, or set POSTMORTEM_GIT_DIR to another folder."
        )

    # -- running git ---------------------------------------------------------------------------

    def _git(self, *args: str) -> str:
        result = self._run(args)
        if result.returncode != 0:
            output = f"{result.stderr}\n{result.stdout}"
            lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("hint:")]
            said = redact_url(" ".join(lines)).replace("\t", " ")[:500]
            raise GitError(
                f"git {args[0]} failed in {self.target.repo}: {said or f'exit status {result.returncode}'}",
                temporary=bool(_TEMPORARY.search(output)),
                rejected=bool(_REJECTED.search(output)),
            )
        return result.stdout

    def _succeeds(self, *args: str) -> bool:
        return self._run(args).returncode == 0

    def _run(self, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "GIT_AUTHOR_NAME": AUTHOR[0],
            "GIT_AUTHOR_EMAIL": AUTHOR[1],
            "GIT_COMMITTER_NAME": AUTHOR[0],
            "GIT_COMMITTER_EMAIL": AUTHOR[1],
            "GIT_TERMINAL_PROMPT": "0",  # never wait for a password nobody will type
            "LC_ALL": "C",  # git's messages in English, as the classification reads them
        }
        try:
            return subprocess.run(  # git with an argument list, no shell
                ["git", "-C", str(self.target.repo), *args],
                capture_output=True,
                text=True,
                env=environment,
                timeout=GIT_TIMEOUT_SECONDS,
                check=False,
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed (the `git` command was not found on PATH).") from exc
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} took over {GIT_TIMEOUT_SECONDS:g} s in {self.target.repo}", True) from exc

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One publication at a time in this clone: a thread lock in this process, a lock file across them."""
        key = str(self.target.repo.resolve())
        with _LOCKS_GUARD:
            lock = _LOCKS.setdefault(key, threading.Lock())
        if not (self.target.repo / ".git").exists():  # a folder, or a file in a `git worktree add` checkout
            raise self._not_a_clone()
        git_dir = Path(self._git("rev-parse", "--absolute-git-dir").strip())
        with lock, open(git_dir / "incidentbot-publish.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
