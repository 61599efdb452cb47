"""The clock model (pure: no I/O; app/sla/service.py loads and stores clocks around it).

One clock per ticket, metric and round. It measures *business time* on its calendar (the
ticket's dealer's business hours, the brand's, or 24x7) and never reads a wall clock: every
operation takes the instant it happens at.

State
-----
- ``consumed_us``: business time consumed before ``running_since`` (µs);
- ``running_since``: the instant it last started or resumed counting; None while paused or
  stopped. So the business time elapsed at ``t`` is ``consumed_us + calendar.between(running_since,
  t)`` while running, and ``consumed_us`` otherwise: pausing keeps what was consumed, resuming
  counts on from there, and nothing is counted for the paused span;
- ``due_at``: while running, ``calendar.add(running_since, target - consumed)``: always derived
  from the calendar and the remainder, never ``now + target``; None while paused (it depends on
  when counting resumes); kept as it was when the clock stops; the breach instant once breached;
- ``state``: RUNNING, PAUSED, MET or CANCELLED; ``breached_at`` and ``warned_at`` are facts of
  their own (a breached clock keeps running towards its escalation steps until met).

Thresholds
----------
Every firing is a point on the same axis, business time consumed: each warning at
``fraction x target``, the breach at ``target``, each escalation step at ``target + delay``. So a
warning offset is business time, not wall time (glpi#22678), a paused clock neither warns nor
escalates, and a step's delay after the breach counts only working time. ``checked_us`` says how
far along the axis the thresholds have been fired: :meth:`Clock.advance` fires every threshold
in ``(checked_us, consumed now]`` (each with the instant it was reached) and moves ``checked_us``
on. Because consumed time only grows, what has been fired is always a prefix of the axis; the
database's unique key per (ticket, metric, round, kind, level) makes each firing happen once
whoever computes it. ``next_check_at`` is the instant the next unfired threshold is reached (or
a pending notification is due): the one column the sweep scans.

Every change first advances the clock to the change's instant, so a threshold passed before a
pause, a stop or a reassignment is fired with the instant it was really reached.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from app.sla.calendar import BusinessCalendar
from app.sla.enums import LEVEL_RANK, OPEN_STATES, ClockState, FiringKind

_US = timedelta(microseconds=1)


def us(seconds: float) -> int:
    return int(round(seconds * 1_000_000))


def iso(t: datetime | None) -> str | None:
    """An instant as ISO-8601 UTC (`...Z`), for event payloads."""
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if t is not None else None


@dataclass
class Firing:
    """A threshold the clock reached: written once per (ticket, metric, round, kind, level)."""

    clock: "Clock"
    kind: str
    level: int
    reached_at: datetime
    fraction: float | None = None  # warnings
    escalation_level: str | None = None  # escalations: who is told


@dataclass
class Clock:
    id: uuid.UUID
    ticket_id: uuid.UUID
    metric: str
    round: int
    calendar: BusinessCalendar
    calendar_id: uuid.UUID
    calendar_version: int
    target_us: int
    started_at: datetime
    policy_id: uuid.UUID | None = None
    policy_version: int = 0
    dealer_id: uuid.UUID | None = None
    calendar_mode: str = "business"
    consumed_us: int = 0
    running_since: datetime | None = None
    due_at: datetime | None = None
    stopped_at: datetime | None = None
    state: str = ClockState.RUNNING.value
    breached_at: datetime | None = None
    warned_at: datetime | None = None
    checked_us: int = 0
    next_check_at: datetime | None = None
    notice_at: datetime | None = None  # the earliest notification of this clock still waiting
    pauses: tuple[str, ...] = ()
    warnings: tuple[float, ...] = ()
    escalation: tuple[tuple[str, int], ...] = ()  # (level, seconds after the breach)
    notification_calendar_id: uuid.UUID | None = None
    active: bool = True  # its policy is enabled (a disabled policy's clocks fire nothing)
    new: bool = field(default=False, compare=False)
    _axis: list | None = field(default=None, repr=False, compare=False)  # thresholds(), until the target changes

    # -- reading ------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def running(self) -> bool:
        return self.state == ClockState.RUNNING and self.running_since is not None

    def consumed_at(self, t: datetime) -> int:
        """Business time consumed by instant `t` (µs)."""
        if not self.running or t <= self.running_since:
            return self.consumed_us
        return self.consumed_us + self.calendar.between(self.running_since, t) // _US

    def thresholds(self) -> list[tuple[int, str, int, float | None, str | None]]:
        """(consumed µs, kind, level, fraction, escalation level), along the axis."""
        if self._axis is not None:
            return self._axis
        out = [(int(round(f * self.target_us)), FiringKind.WARNING.value, int(round(f * 1000)), f, None) for f in self.warnings]
        out.append((self.target_us, FiringKind.BREACH.value, 0, None, None))
        out += [(self.target_us + us(delay), FiringKind.ESCALATION.value, LEVEL_RANK[level], None, level)
                for level, delay in self.escalation]
        out.sort(key=lambda x: (x[0], x[1] != FiringKind.WARNING.value, x[2]))
        self._axis = out
        return out

    def instant_of(self, consumed: int) -> datetime:
        """When a running clock reaches `consumed` µs of business time (now or later)."""
        if consumed <= self.consumed_us:
            return self.running_since
        return self.calendar.add(self.running_since, (consumed - self.consumed_us) * _US)

    # -- changing -------------------------------------------------------------------------------

    def advance(self, now: datetime) -> list[Firing]:
        """Fire every threshold reached by `now` and not fired yet (open clocks of an active
        policy only), each with the instant it was reached."""
        if not self.is_open or not self.active:
            return []
        consumed = self.consumed_at(now)
        fired = []
        for at_us, kind, level, fraction, esc in self.thresholds():
            if at_us <= self.checked_us:
                continue
            if at_us > consumed:
                break
            reached = self.instant_of(at_us) if self.running else (self.running_since or now)
            fired.append(Firing(self, kind, level, reached, fraction, esc))
            if kind == FiringKind.BREACH and self.breached_at is None:
                self.breached_at = reached
            if kind == FiringKind.WARNING and self.warned_at is None:
                self.warned_at = reached
        self.checked_us = max(self.checked_us, consumed)
        return fired

    def checkpoint(self, now: datetime) -> None:
        """Fold the business time since `running_since` into `consumed_us` (it counts on from now)."""
        if self.running and now > self.running_since:
            self.consumed_us = self.consumed_at(now)
            self.running_since = now

    def pause(self, now: datetime) -> None:
        if self.state == ClockState.RUNNING:
            self.checkpoint(now)
            self.state, self.running_since = ClockState.PAUSED.value, None
            self.refresh()

    def resume(self, now: datetime) -> None:
        if self.state == ClockState.PAUSED:
            self.state, self.running_since = ClockState.RUNNING.value, now
            self.refresh()

    def stop(self, now: datetime, *, met: bool) -> None:
        """Met (the metric was reached) or cancelled. A paused clock stops with what it had
        consumed when it paused: ending a pause and stopping in one step adds nothing for the
        paused span (frappe/helpdesk#3776)."""
        if not self.is_open:
            return
        self.checkpoint(now)
        if self.breached_at is None and self.consumed_us >= self.target_us:  # crossed between checks
            self.breached_at = now
        self.state = (ClockState.MET if met else ClockState.CANCELLED).value
        self.running_since, self.stopped_at, self.next_check_at = None, now, None

    def move(self, now: datetime, *, calendar: BusinessCalendar, calendar_id: uuid.UUID, calendar_version: int,
             dealer_id: uuid.UUID | None) -> None:
        """Count on in another calendar from `now`, keeping the time consumed (reassignment)."""
        self.checkpoint(now)
        self.calendar, self.calendar_id, self.calendar_version, self.dealer_id = calendar, calendar_id, calendar_version, dealer_id
        self.refresh()

    def retarget(self, now: datetime, *, target_us: int, policy_id: uuid.UUID, policy_version: int, pauses, warnings,
                 escalation, notification_calendar_id, calendar_mode: str) -> None:
        """Take another policy's target and behaviour, keeping the time consumed. A breached
        clock keeps the target it breached (and what it used)."""
        if self.breached_at is not None:
            return
        self.checkpoint(now)
        self.target_us, self.policy_id, self.policy_version = target_us, policy_id, policy_version
        self.pauses, self.warnings, self.escalation = tuple(pauses), tuple(warnings), tuple(escalation)
        self.notification_calendar_id, self.calendar_mode, self.active = notification_calendar_id, calendar_mode, True
        self._axis = None
        self.refresh()

    def refresh(self) -> None:
        """Recompute `due_at` from the calendar and the remainder (never now + target)."""
        if self.breached_at is not None:
            self.due_at = self.breached_at
        elif self.state == ClockState.RUNNING:
            self.due_at = self.instant_of(self.target_us)
        elif self.state == ClockState.PAUSED:
            self.due_at = None

    def schedule(self) -> datetime | None:
        """Set and return `next_check_at`: the instant the next unfired threshold is reached
        (running clocks of an active policy), or a waiting notification is due, if sooner."""
        nxt = None
        if self.running and self.active:
            for at_us, *_ in self.thresholds():
                if at_us > self.checked_us:
                    nxt = self.instant_of(at_us)
                    break
        if self.notice_at is not None and (nxt is None or self.notice_at < nxt):
            nxt = self.notice_at
        self.next_check_at = nxt
        return nxt

    # -- the GraphQL view -------------------------------------------------------------------------

    def elapsed_at(self, now: datetime) -> int:
        """Business µs elapsed by `now` (a stopped clock: what it used)."""
        return self.consumed_at(now)


def flags(clocks: list[Clock], current_round: int) -> dict:
    """The ticket's SLA picture (the `sla.ticket_clocks` payload without the id): the earliest
    due instant of its running clocks, whether a running clock of the current round passed a
    warning, whether a clock of the current round breached."""
    running = [c for c in clocks if c.state == ClockState.RUNNING and c.due_at is not None]
    due = min((c.due_at for c in running), default=None)
    return {"next_due_at": iso(due),
            "warned": any(c.warned_at is not None for c in running if c.round == current_round),
            "breached": any(c.breached_at is not None for c in clocks if c.round == current_round)}
