"""Each slice that owns tables migrates on its own Alembic branch (``branch_labels``).

Removing a slice (``copier update -d auth=none``) removes its revision files, but its
tables, their rows and its revisions in ``alembic_version`` stay. ``reconcile`` runs
before every upgrade: it *parks* those revisions in ``alembic_branch``, leaving the
tables as they are, and puts them back when the slice returns. A revision nothing
accounts for, say one a newer release applied, is refused with the command that fixes it.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace

from alembic.script import Script, ScriptDirectory
from sqlalchemy import Boolean, Column, Connection, MetaData, String, Table, inspect

BEFORE_BRANCHES = (("core", "2026_11_23_0001"), ("auth_jwt", "2026_11_23_0002"))
"""What releases before per-slice branches applied, in order; they recorded only the last."""
COMMAND = f"python -m {__name__.partition('.')[0]} migrate"
VERSIONS = Table("alembic_version", MetaData(), Column("version_num", String(32)))
BRANCHES = Table(
    "alembic_branch",
    MetaData(),
    Column("branch", String(64), primary_key=True),
    Column("revision", String(32), primary_key=True),
    Column("parked", Boolean, nullable=False),
    Column("tables", String(2000), nullable=False),
    comment="The head of each slice's Alembic branch; parked: the slice was removed.",
)


class UnknownRevisionError(RuntimeError):
    """The database holds a revision this service cannot account for."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A row of ``alembic_branch``: a head of ``branch``, or a parked slice's head."""

    branch: str
    revision: str
    parked: bool = False
    tables: str = ""
    """The tables the slice left behind, space-separated, once parked."""


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What ``reconcile`` did: the slices it parked and those it restored."""

    parked: list[Entry] = field(default_factory=list)
    restored: list[Entry] = field(default_factory=list)


class Branches:
    """The revision files: which branch each revision is on, and what it builds on."""

    def __init__(self, script: ScriptDirectory) -> None:
        self._scripts = {each.revision: each for each in script.walk_revisions()}
        self._script = script
        self.of = {revision: self._branch(revision) for revision in self._scripts}

    @property
    def known(self) -> set[str]:
        return set(self._scripts)

    @property
    def names(self) -> set[str]:
        return set(self.of.values())

    def _branch(self, revision: str) -> str:
        """The nearest label declared on the revision or the ones below it."""
        current = self._scripts[revision]
        while not (labels := _as_tuple(getattr(current.module, "branch_labels", None))):
            below = _as_tuple(current.down_revision)
            if not below:
                return current.revision
            current = self._scripts[below[0]]
        return str(labels[0])

    def _parents(self, revision: str) -> Iterable[str]:
        script = self._scripts[revision]
        yield from _as_tuple(script.down_revision)
        for dependency in self._script.get_revisions(_as_tuple(script.dependencies)):
            if isinstance(dependency, Script):
                yield dependency.revision

    def ancestors(self, revision: str) -> set[str]:
        """Every revision applied before ``revision``, dependencies included."""
        found: set[str] = set()
        pending = list(self._parents(revision))
        while pending:
            current = pending.pop()
            if current not in found:
                found.add(current)
                pending.extend(self._parents(current))
        return found

    def minimal(self, revisions: Collection[str]) -> set[str]:
        """What Alembic records for these: none may be an ancestor of another."""
        below = {ancestor for revision in revisions for ancestor in self.ancestors(revision)}
        return set(revisions) - below

    def heads(self, recorded: Collection[str]) -> list[Entry]:
        """The head of every branch applied, even those ``recorded`` only implies."""
        applied = set(recorded).union(*(self.ancestors(revision) for revision in recorded))
        covered = {
            ancestor
            for revision in applied
            for ancestor in self.ancestors(revision)
            if self.of[ancestor] == self.of[revision]
        }
        return [Entry(self.of[head], head) for head in sorted(applied - covered)]


def reconcile(
    connection: Connection, script: ScriptDirectory, model_tables: Collection[str]
) -> Reconciled:
    """Park the revisions of slices the scripts lost, restore those of returning slices."""
    branches = Branches(script)
    recorded = _recorded(connection)
    has_record = _has_branches(connection)
    entries = _entries(connection) if has_record else _before_branches(recorded)
    unknown = recorded - branches.known
    owners = {entry.revision: entry.branch for entry in entries}
    for revision in sorted(unknown):
        owner = owners.get(revision)
        if owner is None or owner in branches.names:
            raise UnknownRevisionError(_refusal(revision, has_record=has_record))
    kept = recorded - unknown
    left_behind = " ".join(sorted(_untracked(connection) - set(model_tables))) if unknown else ""
    done = Reconciled()
    after: list[Entry] = []
    for entry in entries:
        known = entry.revision in branches.known
        if entry.branch in branches.names and not known and (entry.parked or unknown):
            raise UnknownRevisionError(_refusal(entry.revision, has_record=True))
        if entry.parked and known:  # its slice is back
            kept.add(entry.revision)
            done.restored.append(entry)
        elif unknown and not entry.parked and not known:  # its slice is gone
            done.parked.append(replace(entry, parked=True, tables=left_behind))
            after.append(done.parked[-1])
        else:
            if unknown and known:  # a head only a removed slice's revision implied
                kept.add(entry.revision)
            after.append(entry)
    if unknown or done.restored:
        _write(connection, branches.minimal(kept), after)
    return done


def record_branches(connection: Connection, script: ScriptDirectory) -> None:
    """After an upgrade: note the head of every branch, beside the parked ones."""
    live = Branches(script).heads(_recorded(connection))
    if set(live) == {entry for entry in _entries(connection) if not entry.parked}:
        return
    BRANCHES.create(connection, checkfirst=True)
    connection.execute(BRANCHES.delete().where(BRANCHES.c.parked.is_(False)))
    if live:
        connection.execute(BRANCHES.insert(), [asdict(entry) for entry in live])


def untracked_tables(connection: Connection) -> set[str]:
    """Tables autogenerate must leave alone: this record and parked slices' tables."""
    parked = [entry.tables.split() for entry in _entries(connection) if entry.parked]
    return {BRANCHES.name}.union(*parked)


def _refusal(revision: str, *, has_record: bool) -> str:
    if has_record:
        return (
            f"Database revision {revision} is not among this service's migrations (was the "
            "database migrated by a newer release?); update the service to that release with "
            "`copier update --trust --defaults`, or point it at its own database"
        )
    return (
        f"Database revision {revision} is not among this service's migrations, and the "
        "release that applied it kept no record of its slice; put that slice back "
        f"(`copier update --trust --defaults -d <axis>=<choice>`), run `{COMMAND}`, then "
        "remove it again"
    )


def _before_branches(recorded: Collection[str]) -> list[Entry]:
    """The record a database migrated before branches implies, from its one revision."""
    order = [revision for _, revision in BEFORE_BRANCHES]
    last = next(iter(recorded), None) if len(recorded) == 1 else None
    if last not in order:
        return []
    applied = dict(BEFORE_BRANCHES[: order.index(last) + 1])  # the last head of each branch
    return [Entry(branch, revision) for branch, revision in applied.items()]


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _has_branches(connection: Connection) -> bool:
    return inspect(connection).has_table(BRANCHES.name)


def _untracked(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {VERSIONS.name, BRANCHES.name}


def _recorded(connection: Connection) -> set[str]:
    if not inspect(connection).has_table(VERSIONS.name):
        return set()
    return set(connection.scalars(VERSIONS.select()))


def _entries(connection: Connection) -> list[Entry]:
    if not _has_branches(connection):
        return []
    return [Entry(*row) for row in connection.execute(BRANCHES.select())]


def _write(connection: Connection, recorded: Collection[str], entries: list[Entry]) -> None:
    connection.execute(VERSIONS.delete())
    if recorded:
        connection.execute(VERSIONS.insert(), [{"version_num": rev} for rev in sorted(recorded)])
    BRANCHES.create(connection, checkfirst=True)
    connection.execute(BRANCHES.delete())
    if entries:
        connection.execute(BRANCHES.insert(), [asdict(entry) for entry in entries])
