"""Staffing math for queues: Erlang C, and Erlang A (callers who hang up while waiting).

Pure functions, no I/O, no clock: the simulator, reports and the ops API call them
with forecast figures. Units are plain: arrivals per hour, times in seconds, service
level and probabilities as fractions in [0, 1].

Models
------
Erlang C (M/M/N): Poisson arrivals, exponential handle times, N agents, callers who
never give up. It overstates the agents needed when callers do hang up, and it has
no answer at all when traffic reaches the number of agents.

Erlang A (M/M/N+M, "Palm" model): Erlang C plus exponential patience; a waiting
caller hangs up at rate 1/mean_patience. Solved exactly as a birth-death chain whose
queue is truncated where its probability is negligible (below 1e-16 of the peak),
with the tagged caller's answer-time distribution computed by uniformization.
Service level in Erlang A is "answered within the target time / all callers",
counting callers who hang up as not answered, which is how the daemon's
``ivr_queue_answered_within_sla_total / (answered + abandoned)`` measures it.

Shrinkage (breaks, training, absence) is not in either model: apply
``staff_with_shrinkage`` to the agents the models ask for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangA",
    "agents_needed",
    "agents_needed_with_abandonment",
    "average_speed_of_answer",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "service_level",
    "staff_with_shrinkage",
    "traffic_erlangs",
]

DEFAULT_MAX_OCCUPANCY = 0.85
"""Occupancy cap used by ``agents_needed`` unless told otherwise (a common planning default)."""

_NEGLIGIBLE_LOG = math.log(1e-16)  # queue states this far below the peak are dropped
_MAX_QUEUE = 2_000_000  # hard stop for the truncated chain (never reached in practice)


def _check_non_negative(name: str, value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _check_positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_agents(agents: int) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise ValueError(f"agents must be an int >= 0, got {agents!r}")


def _check_fraction(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")


def _check_cap(name: str, value: float | None) -> None:
    if value is not None and not 0 < value <= 1:
        raise ValueError(f"{name} must be in (0, 1] or None, got {value!r}")


def traffic_erlangs(arrival_rate_per_hour: float, aht_seconds: float) -> float:
    """Offered traffic in Erlangs: arrivals per hour times handle time in hours."""
    _check_non_negative("arrival_rate_per_hour", arrival_rate_per_hour)
    _check_positive("aht_seconds", aht_seconds)
    return arrival_rate_per_hour * aht_seconds / 3600.0


def erlang_b(traffic_erlangs: float, agents: int) -> float:
    """Erlang B: probability that a call finds all ``agents`` busy in a loss system.

    Uses the recursion B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)), which stays in
    [0, 1] at every step, so it neither overflows nor loses precision for thousands
    of agents (no factorials, no powers).
    """
    _check_non_negative("traffic_erlangs", traffic_erlangs)
    _check_agents(agents)
    b = 1.0
    for n in range(1, agents + 1):
        ab = traffic_erlangs * b
        b = ab / (n + ab)
    return b


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Erlang C: probability that a caller has to wait, with ``agents`` agents.

    Computed from Erlang B as C = N·B / (N - A·(1 - B)), numerically stable for
    1000+ agents. Returns 1.0 when ``agents <= traffic_erlangs`` (the queue grows
    without bound, every caller waits) and 0.0 when there is no traffic.
    """
    _check_non_negative("traffic_erlangs", traffic_erlangs)
    _check_agents(agents)
    if traffic_erlangs == 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    b = erlang_b(traffic_erlangs, agents)
    return _c_from_b(traffic_erlangs, agents, b)


def _c_from_b(a: float, n: int, b: float) -> float:
    return min(1.0, n * b / (n - a * (1.0 - b)))


def _sl_from_c(c: float, a: float, n: int, aht: float, target: float) -> float:
    return max(0.0, 1.0 - c * math.exp(-(n - a) * target / aht))


def service_level(
    arrival_rate_per_hour: float, aht_seconds: float, agents: int, target_seconds: float
) -> float:
    """Erlang C share of callers answered within ``target_seconds``.

    SL = 1 - C(A, N)·exp(-(N - A)·T / AHT); 0.0 when ``agents`` cannot keep up
    (N <= A), 1.0 when there are no calls.
    """
    _check_non_negative("target_seconds", target_seconds)
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    _check_agents(agents)
    if a == 0:
        return 1.0
    if agents <= a:
        return 0.0
    return _sl_from_c(erlang_c(a, agents), a, agents, aht_seconds, target_seconds)


def average_speed_of_answer(arrival_rate_per_hour: float, aht_seconds: float, agents: int) -> float:
    """Erlang C mean wait in seconds over all callers: C(A, N)·AHT / (N - A).

    ``math.inf`` when ``agents`` cannot keep up (N <= A); 0.0 with no calls.
    """
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    _check_agents(agents)
    if a == 0:
        return 0.0
    if agents <= a:
        return math.inf
    return erlang_c(a, agents) * aht_seconds / (agents - a)


def occupancy(arrival_rate_per_hour: float, aht_seconds: float, agents: int) -> float:
    """Share of agents' time spent handling calls, A / N (Erlang C: all calls are handled).

    Capped at 1.0; ``agents`` must be at least 1.
    """
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    _check_agents(agents)
    if agents == 0:
        raise ValueError("occupancy needs at least one agent")
    return min(1.0, a / agents)


def agents_needed(
    arrival_rate_per_hour: float,
    aht_seconds: float,
    target_seconds: float,
    target_level: float,
    max_occupancy: float | None = DEFAULT_MAX_OCCUPANCY,
) -> int:
    """Fewest agents for an Erlang C service level of ``target_level`` within ``target_seconds``.

    Also keeps occupancy A / N at or under ``max_occupancy`` (None: no cap), since a
    team answering back to back burns out; with the default 0.85 the cap binds in
    large centres, where Erlang C alone would run agents at 95%+.
    Returns 0 when there are no calls. Linear in the answer: one Erlang B step per
    candidate, so 1000+ agents are cheap.
    """
    _check_non_negative("target_seconds", target_seconds)
    _check_fraction("target_level", target_level)
    _check_cap("max_occupancy", max_occupancy)
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    if a == 0:
        return 0
    b = 1.0
    n = 0
    while True:
        n += 1
        ab = a * b
        b = ab / (n + ab)
        if n <= a:
            continue
        if max_occupancy is not None and a / n > max_occupancy:
            continue
        if _sl_from_c(_c_from_b(a, n, b), a, n, aht_seconds, target_seconds) >= target_level:
            return n


def staff_with_shrinkage(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that ``agents`` are on the phones after ``shrinkage``.

    ``shrinkage`` is the share of paid time not available for calls (breaks,
    training, absence), in [0, 1).
    """
    _check_agents(agents)
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    # round away float noise first: 14 / (1 - 0.3) must be 20, not 21
    return math.ceil(round(agents / (1.0 - shrinkage), 9))


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady-state figures of an Erlang A (M/M/N+M) queue.

    Attributes:
        agents: number of agents N.
        wait_probability: share of callers who find every agent busy and queue.
        abandon_probability: share of callers who hang up before being answered.
        service_level: share of ALL callers answered within the target time
            (callers who hang up count as not answered).
        mean_wait_seconds: mean time in queue over all callers, answered or not.
        occupancy: share of agents' time spent on calls (carried traffic / N).
    """

    agents: int
    wait_probability: float
    abandon_probability: float
    service_level: float
    mean_wait_seconds: float
    occupancy: float


def _stationary_log(lam: float, mu: float, theta: float, n_agents: int) -> list[float]:
    """Unnormalised log-probabilities of 0, 1, 2, ... callers in the system."""
    logs = [0.0]
    peak = 0.0
    n = 0
    log_lam = math.log(lam)
    while True:
        n += 1
        death = mu * min(n, n_agents) + theta * max(n - n_agents, 0)
        value = logs[-1] + log_lam - math.log(death)
        logs.append(value)
        peak = max(peak, value)
        if n > n_agents and death > lam and value < peak + _NEGLIGIBLE_LOG:
            return logs
        if n > n_agents + _MAX_QUEUE:
            raise ValueError("queue too long to evaluate; check the patience and rates")


def _answered_within(
    weights: list[float], n_agents: int, mu: float, theta: float, target: float
) -> float:
    """P(answered within ``target``) for a caller who finds ``q`` callers ahead w.p. weights[q].

    The tagged caller moves up at rate N·mu + q·theta (a service completion or a
    caller ahead hanging up) and hangs up at rate theta; callers behind do not
    matter (first come, first served). Solved by uniformization of that chain.
    """
    total = sum(weights)
    if total == 0 or target == 0:
        return 0.0
    top = len(weights) - 1
    served_rate = n_agents * mu
    uniform = served_rate + top * theta + theta
    horizon = uniform * target
    steps = int(horizon + 12.0 * math.sqrt(horizon) + 30.0)
    v = [w / total for w in weights]
    answered = 0.0  # mass absorbed in "answered" after k jumps
    result = 0.0
    log_horizon = math.log(horizon) if horizon > 0 else -math.inf
    poisson_tail = 1.0
    for k in range(steps + 1):
        log_p = -horizon + k * log_horizon - math.lgamma(k + 1) if horizon > 0 else 0.0
        p_k = math.exp(log_p) if horizon > 0 else (1.0 if k == 0 else 0.0)
        poisson_tail -= p_k
        result += p_k * answered
        if poisson_tail < 1e-15 and k > horizon:
            # the remaining Poisson mass would at most add poisson_tail
            result += max(poisson_tail, 0.0) * answered
            break
        # one uniformized jump
        answered += v[0] * served_rate / uniform
        nxt = [0.0] * len(v)
        for q, mass in enumerate(v):
            if mass == 0.0:
                continue
            up = (served_rate + q * theta) if q > 0 else 0.0
            stay = 1.0 - (up + (served_rate if q == 0 else 0.0) + theta) / uniform
            nxt[q] += mass * stay
            if q > 0:
                nxt[q - 1] += mass * up / uniform
        v = nxt
    return min(1.0, result * total)


def erlang_a(
    arrival_rate_per_hour: float,
    aht_seconds: float,
    agents: int,
    target_seconds: float,
    mean_patience_seconds: float,
) -> ErlangA:
    """Erlang A figures for ``agents`` agents and callers of mean patience as given.

    Unlike Erlang C the queue is stable with any number of agents (impatient callers
    leave), so overloaded and zero-agent cases have answers too.
    """
    _check_non_negative("target_seconds", target_seconds)
    _check_positive("mean_patience_seconds", mean_patience_seconds)
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    _check_agents(agents)
    if a == 0:
        return ErlangA(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    lam = arrival_rate_per_hour / 3600.0
    mu = 1.0 / aht_seconds
    theta = 1.0 / mean_patience_seconds
    logs = _stationary_log(lam, mu, theta, agents)
    peak = max(logs)
    probs = [math.exp(x - peak) for x in logs]
    norm = sum(probs)
    probs = [p / norm for p in probs]
    wait_p = sum(probs[agents:])
    queue_mean = sum(q * p for q, p in enumerate(probs[agents:]))
    busy_mean = sum(min(n, agents) * p for n, p in enumerate(probs))
    abandon_p = min(1.0, theta * queue_mean / lam)
    answered_now = sum(probs[:agents])
    answered_later = _answered_within(probs[agents:], agents, mu, theta, target_seconds)
    return ErlangA(
        agents=agents,
        wait_probability=wait_p,
        abandon_probability=abandon_p,
        service_level=min(1.0, answered_now + answered_later),
        mean_wait_seconds=queue_mean / lam,
        occupancy=busy_mean / agents if agents else 0.0,
    )


def agents_needed_with_abandonment(
    arrival_rate_per_hour: float,
    aht_seconds: float,
    target_seconds: float,
    target_level: float,
    mean_patience_seconds: float,
    max_occupancy: float | None = DEFAULT_MAX_OCCUPANCY,
    max_abandon_rate: float | None = None,
) -> int:
    """Fewest agents meeting an Erlang A service level (answered within target / all callers).

    Optionally also keeps occupancy at or under ``max_occupancy`` and the share of
    callers who hang up at or under ``max_abandon_rate``. All three improve as agents
    are added, so the answer is found by doubling then bisection. Returns 0 when
    there are no calls.
    """
    _check_non_negative("target_seconds", target_seconds)
    _check_fraction("target_level", target_level)
    _check_positive("mean_patience_seconds", mean_patience_seconds)
    _check_cap("max_occupancy", max_occupancy)
    _check_cap("max_abandon_rate", max_abandon_rate)
    if traffic_erlangs(arrival_rate_per_hour, aht_seconds) == 0:
        return 0

    def ok(n: int) -> bool:
        r = erlang_a(arrival_rate_per_hour, aht_seconds, n, target_seconds, mean_patience_seconds)
        return (
            r.service_level >= target_level
            and (max_occupancy is None or r.occupancy <= max_occupancy)
            and (max_abandon_rate is None or r.abandon_probability <= max_abandon_rate)
        )

    low, high = 0, 1  # ok(low) is False (no agent answers anyone); find ok(high)
    while not ok(high):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid
    return high
