"""What a simulated run reports per hour: the figures `ivr report` gives, plus who answered
and what the partner's cover cost. Tables, CSV, JSON and the charts all read these rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class HourRow:
    """One variant's figures for one hour of one day (local time of the shop).

    Rates are fractions and times seconds, None when undefined (no calls decided).
    """

    variant: str
    day: date
    hour: int  # 0-23
    calls: int  # arrived in this hour, including those outside opening hours
    answered: int
    abandoned: int
    abandon_rate: float | None  # abandoned / (answered + abandoned), as `ivr report`
    service_level: float | None  # answered within the queue's sla / (answered + abandoned)
    asa: float | None  # mean wait of answered calls
    mean_wait: float | None  # mean wait in queue of every caller who queued (the heat map)
    answered_in_house: int
    answered_partner_agents: int  # the outsourced team's own softphones
    answered_partner_trunk: int  # sent to the partner's trunk (counted as answered there)
    partner_cost: float  # in the roster's currency, from the team's price
    callbacks: int  # callback tasks booked (offered and accepted, or after abandon)
    voicemail: int  # messages left
    missed_closed: int  # calls that met a closed line (outside hours, holiday) and no agent
