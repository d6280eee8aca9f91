"""The judgement of one camera over a run of its observations: tamper (covered, defocused, turned) and activity.

Tamper conditions are *level shifts* against a short-term reference of the
healthy view. Light changes through dawn and dusk over an hour and the
reference follows it; a hand over the lens, lost focus or a turned mount
changes the picture from one clip to the next. Once a condition holds, the
reference is frozen and the anomalous level is tracked instead, so the
condition lasts exactly as long as the picture stays nearer the anomalous
level than the healthy one, even if night falls meanwhile.

A lost focus is a sudden drop of log sharpness, judged against how much this
camera's sharpness usually moves from one clip to the next. Sensor noise is
added after the optical blur, so in a dark or low-detail view the Laplacian
energy is mostly noise and a lost focus removes only part of it: in the
simulated night views a defocused lens kept 35-60 % of the sharpness, where a
lit street keeps 2-15 %. A share low enough for the night would fire on a
busy daytime view, whose sharpness moves with every passer-by; a night view
is steady, so a drop of a third stands out there. The drop must therefore
reach both a floor (``defocus_sharpness_share``) and a multiple of the
camera's usual step, learned while healthy. One step counts at most the
floor, so a single odd clip (a link coming back, fog setting in) cannot make
the rule deaf for long.

Activity compares people (the edge box's pedestrians, or its blobs where it
does not report them) and motion with the larger of the short-term level
and the level learned for the local hour, so a crowd is both a jump and
unusual for the hour: a quick tier for a sudden crowd, a sustained one (a
longer median against a lower limit, once the hour is known) for a gathering
under twice the usual level, and where people come at no set time a long one
(five minutes against the five before) for a gathering slow enough that the
short-term level learned it. At night, in a scene that is normally empty
then, two CUSUMs tell loitering people from passers-by. Nothing is learned
from clips under suspicion (a crowd, or a CUSUM above zero), so a scene
counts as empty only once its short-term level has stayed low for a while
(``peak``, which falls slowly): a square emptying late in the evening has
quiet minutes between its last passers-by, and a level frozen in one of them
would take the next few for loiterers. A camera that has just started has
not yet seen its scene empty, so its peak starts where ten minutes of quiet
are needed to bring it down (``empty_proof_observations``): one started at
23 h over a square still emptying (one to five blobs every few clips)
learned nothing from those clips, kept a peak of zero and fired within two
minutes, and twice more in the next ten.

The figures on night intrusion below were measured when activity counted
every blob; at night a scene holds few vehicles, and counting pedestrians
instead, the rule found the same 47 of the 50 tuning intrusions (median
60 s instead of 50 s: a clip has four frame pairs to see a walker in and
five frames to see a blob).

What separates an intruder from passers-by in the simulated nights is time
in view, not numbers: intruders showed 0.7-2.1 blobs on average, with a blob
in 75-100 % of the clips, for 10-20 minutes; passers-by on clean nights came
as one or two people for three to nine clips (a blob CUSUM of 3.5-3.9 for
two people over three to five clips). The blob CUSUM therefore fires at 4.5
(``intrusion_limit``): four clips of two people, fifteen of one. A person
half hidden in the dark (0.2-0.4 blobs a clip) never climbs it, since every
clip adds less than the allowance, but is in view most of the time: the
presence CUSUM adds one for each clip with anything in view, less
``presence_allowance`` for every clip, and fires at ``presence_limit``. A
clean night view (a stray blob in up to a quarter of the clips, rarely
many in a row) took it no higher than 5.6 in twenty camera-nights, nine
clips of a passer-by bring it to 5, a person seen in two clips of three
reaches 8 in about 35 clips (6 minutes). Over 244 clean camera-nights it
reached 7 to 8 twice, both in scenes still emptying; at 8 instead of 15,
two more of 120 intrusions were found (in rain or fog, the intruders in
view in 55-60 % of the clips) and the slowest tenth within 210 s instead
of 411 s.

Scenes differ in how many people pass at night: a school gate or a square
sees someone for a minute or two every so often, a border road almost
never. The blob CUSUM's allowance is therefore the scene's own night level
(the mean capped blobs per clip while it is judged empty, learned over about
an hour, ``night_alpha``) plus ``intrusion_allowance``, the classic CUSUM
reference of background plus half the shift. With the fixed allowance,
pairs lingering two minutes at school gates fired 8 times in 28 school-gate
nights. With the learned level, false intrusions over 305 clean
camera-nights fell from 13 to 7 (school gates: 2), and the same 112 of 120
intrusions were found, half of them within a minute as before; the slowest
tenth took longer (p90 411 s instead of 258 s).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from iocsim.streams.detectors.camera_readings import Readings, median
from iocsim.streams.detectors.camera_settings import CameraDetectorSettings, ScenePrior
from iocsim.streams.detectors.camera_state import Activity, Condition, Tamper


class TamperTrail(NamedTuple):
    """Per observation of a run: the three tamper verdicts, what they were judged against, and clearings.

    ``references`` holds the log brightness and log sharpness of the healthy
    reference, the usual displacement (px), the displacement the turned rule
    fires at and the usual clip-to-clip step of log sharpness, as they stood
    when the observation was judged. ``cleared`` marks the clips whose view
    turned far sharper than the one before (fog lifting, a lens uncovered) or
    changed over much of the frame at once (the light, as rain ends).
    """

    covered: list[bool]
    defocused: list[bool]
    turned: list[bool]
    references: list[tuple[float, float, float, float, float]]
    cleared: list[bool]

    def blind(self) -> list[bool]:
        """Whether each observation showed a tampered view (activity is not judged on those)."""
        return [c or d or t for c, d, t in zip(self.covered, self.defocused, self.turned, strict=True)]


class ActivityTrail(NamedTuple):
    """Per observation of a run: crowd and intrusion verdicts, and their evidence.

    ``levels`` holds, per observation, how many clips ``recent`` held once it
    was added, the expected blobs, and the crowd threshold and number of
    recent clips (the crowd rule judges their median) of the tier that
    judged it: the sustained one while a crowd holds or where only it fired,
    the quick one otherwise; None where the view was tampered. ``recent`` is
    log1p(blobs) of the camera's clips up to the end of the run.
    """

    crowd: list[bool]
    intrusion: list[bool]
    levels: list[tuple[int, float, float, int] | None]
    recent: list[float]

    def median_people(self, k: int) -> float:
        """The median log1p(people) of the recent clips the crowd rule judged observation ``k`` by."""
        levels = self.levels[k]
        assert levels is not None
        end, _, _, median_of = levels
        return median(self.recent[max(0, end - median_of) : end])


def larger(a: float, b: float) -> float:
    """``max(a, b)``, ties and all (the first argument wins a tie), at the cost of one comparison."""
    return b if b > a else a


def smaller(a: float, b: float) -> float:
    """``min(a, b)``, ties and all (see :func:`larger`)."""
    return b if b < a else a


def judge_tamper(state: Tamper, r: Readings, s: CameraDetectorSettings) -> TamperTrail:
    """Covered, defocused and turned verdicts for a run of observations; learns the reference while healthy.

    One loop over the run with the levels in local variables: each clip's
    verdicts depend on the reference the clips before it left.
    """
    covered_c, defocused_c, turned_c = state.covered, state.defocused, state.turned
    conditions = (covered_c, defocused_c, turned_c)
    tracking = any(c.active or c.since is not None for c in conditions)
    tampered = state.any_active()
    seen, warmup = state.seen, s.warmup_observations
    reference_b, reference_s, usual_px = state.brightness, state.sharpness, state.displacement
    usual_step = state.sharpness_step
    previous_b, previous_s = state.previous, state.previous_sharpness
    covered_b, covered_s = -math.log(s.covered_brightness_share), -math.log(s.covered_sharpness_share)
    defocus_s, step_multiple = -math.log(s.defocus_sharpness_share), s.defocus_step_multiple
    steady_within = math.log1p(s.defocus_brightness_tolerance)
    whole_view, blur_keeps = math.log1p(1000.0 * s.defocus_whole_view_motion), -math.log(s.defocus_whole_view_kept)
    min_px, multiple, min_response = s.turned_min_px, s.turned_baseline_multiple, s.turned_min_response
    relearn, reference_alpha, anomaly_alpha = s.tamper_relearn_seconds, s.reference_alpha, s.anomaly_alpha
    clearing, view_changed = math.log(s.view_cleared_sharpness_ratio), math.log1p(1000.0 * s.view_changed_motion)
    covered_l: list[bool] = []
    defocused_l: list[bool] = []
    turned_l: list[bool] = []
    references: list[tuple[float, float, float, float, float]] = []
    cleared_l: list[bool] = []
    for t, lb, ls, lm, d, response in zip(
        r.times, r.log_brightness, r.log_sharpness, r.log_motion, r.displacement, r.response, strict=True
    ):
        if seen == 0:
            reference_b, reference_s, previous_b, previous_s = lb, ls, lb, ls
            usual_px = d if response >= min_response else 0.0
        warm = seen >= warmup
        if tampered:
            for condition in conditions:
                if condition.active and condition.since is not None and t - condition.since >= relearn:
                    condition.active, condition.since = False, None
                    reference_b, reference_s = lb, ls
        blurrier = reference_s - ls
        if tampered and covered_c.active:
            covered = _nearer_anomaly(lb, covered_c.brightness, reference_b) and _nearer_anomaly(
                ls, covered_c.sharpness, reference_s
            )
        else:
            covered = warm and reference_b - lb >= covered_b and blurrier >= covered_s
        step = previous_s - ls
        if tampered and defocused_c.active:
            defocused = not covered and _nearer_anomaly(ls, defocused_c.sharpness, reference_s)
        else:
            defocused = (
                step >= defocus_s
                and blurrier >= defocus_s
                and (step if step < blurrier else blurrier) >= step_multiple * usual_step
                and warm
                and not covered
                and abs(lb - previous_b) <= steady_within
                and not (lm >= whole_view and step < blur_keeps)
            )
        turn_at = multiple * usual_px
        turn_at = turn_at if turn_at > min_px else min_px
        if tampered and turned_c.active:
            turned = d >= turn_at / 2 and response >= min_response / 2
        else:
            turned = warm and d >= turn_at and response >= min_response
        if tracking or covered or defocused or turned:
            _track(covered_c, covered, t, lb, ls, anomaly_alpha)
            _track(defocused_c, defocused, t, lb, ls, anomaly_alpha)
            _track(turned_c, turned, t, lb, ls, anomaly_alpha)
            tampered = tracking = covered or defocused or turned
        covered_l.append(covered)
        defocused_l.append(defocused)
        turned_l.append(turned)
        references.append((reference_b, reference_s, usual_px, turn_at, usual_step))
        cleared_l.append(-step >= clearing or lm >= view_changed)
        if not tampered:
            alpha = 1 / (seen + 1)
            alpha = alpha if alpha > reference_alpha else reference_alpha
            reference_b = reference_b + alpha * (lb - reference_b)
            reference_s = reference_s + alpha * (ls - reference_s)
            step = step if step >= 0 else -step
            usual_step = usual_step + alpha * ((step if step < defocus_s else defocus_s) - usual_step)
            if response >= min_response:
                usual_px = usual_px + alpha * ((turn_at if turn_at < d else d) - usual_px)
        previous_b, previous_s = lb, ls
        seen += 1
    state.seen, state.brightness, state.sharpness, state.displacement = seen, reference_b, reference_s, usual_px
    state.previous, state.previous_sharpness, state.sharpness_step = previous_b, previous_s, usual_step
    return TamperTrail(covered_l, defocused_l, turned_l, references, cleared_l)


def _nearer_anomaly(value: float, anomaly: float, healthy: float) -> bool:
    """Whether a log level is still on the anomalous side of the midpoint between the two levels."""
    middle = (anomaly + healthy) / 2
    return value <= middle if anomaly <= healthy else value >= middle


def _track(condition: Condition, active: bool, t: float, lb: float, ls: float, alpha: float) -> None:
    if active and not condition.active:
        condition.active, condition.since = True, t
        condition.brightness, condition.sharpness = lb, ls
    elif active:
        condition.brightness = condition.brightness + alpha * (lb - condition.brightness)
        condition.sharpness = condition.sharpness + alpha * (ls - condition.sharpness)
    else:
        condition.active, condition.since = False, None


def judge_activity(
    a: Activity,
    r: Readings,
    prior: ScenePrior,
    blind: list[bool],
    cleared: list[bool],
    s: CameraDetectorSettings,
) -> ActivityTrail:
    """Crowd and night-intrusion verdicts for a run; a ``blind`` (tampered) clip suspends both and all learning.

    ``prior`` tells, per local hour, whether the scene is normally empty then,
    and how many people a crowd needs expected. The median of the recent
    clips is taken only where the crowd rule looks at it: in a quiet scene,
    never. A blind spell breaks the run of busy clips a crowd needs: the
    short-term level learned nothing meanwhile, and a market that filled up
    behind a blurred lens at dawn is no crowd. So does a ``cleared`` clip: the
    level was learned from a view that hid people. A raised crowd whose
    people the edge box's background model has learned is held by the
    view's detail (sharpness) under the same light.
    """
    median_of, sustained_of, long_of = s.crowd_median_of, s.crowd_sustained_median_of, s.crowd_long_median_of
    keep = max(median_of, sustained_of, 2 * long_of)
    recent_b, recent_m, recent_d = a.recent_people, a.recent_motion, a.recent_detail
    light, crowd_detail = a.light, a.crowd_detail
    detail_rise, light_shift = s.crowd_detail_rise, s.crowd_light_shift
    expm1, log1p = math.expm1, math.log1p
    seen, busy, crowd, intrusion, score, presence = a.seen, a.busy, a.crowd, a.intrusion, a.score, a.presence
    level_b, level_m, peak, hours = a.blobs, a.motion, a.peak, a.hours
    min_samples, hour_memory, step = s.hour_min_samples, float(s.hour_memory), s.activity_max_step
    ratio_b, most_b, root_b = s.crowd_people_ratio, s.crowd_people_floor, s.crowd_people_floor_per_root
    ratio_m, floor_m = s.crowd_motion_ratio, s.crowd_motion_floor
    ratio_s, hold_share = s.crowd_sustained_ratio, s.crowd_hold_share
    long_root = s.crowd_long_floor_per_root
    long_least = math.log1p(min(most_b, long_root))
    busy_needed = s.crowd_busy_observations
    warmup = s.activity_warmup_observations
    decay, empty_people, activity_alpha = s.empty_decay, s.empty_people, s.activity_alpha
    empty_hours, min_expected, timetabled = prior
    unproven = log1p(empty_people) + decay * s.empty_proof_observations
    cap, allowance = s.intrusion_cap, s.intrusion_allowance
    score_cap, fire_at, hold_at = 1.5 * s.intrusion_limit, s.intrusion_limit, s.intrusion_limit / 2
    in_view_allowance, presence_at = s.presence_allowance, s.presence_limit
    in_view_gain = 1.0 - in_view_allowance
    night, night_alpha, night_cap = a.night, s.night_alpha, s.night_allowance_cap
    presence_cap, presence_hold = 1.5 * presence_at, presence_at / 2
    crowd_l: list[bool] = []
    intrusion_l: list[bool] = []
    levels: list[tuple[int, float, float, int] | None] = []
    for tampered, fresh, xb, xm, xs, xl, blobs, hour in zip(
        blind, cleared, r.log_people, r.log_motion, r.log_sharpness, r.log_brightness, r.people, r.hours, strict=True
    ):
        if tampered:
            crowd = intrusion = False
            crowd_detail = None
            score, presence, busy = 0.0, 0.0, 0
            crowd_l.append(False)
            intrusion_l.append(False)
            levels.append(None)
            continue
        if fresh:
            busy = 0
        if seen == 0:
            level_b, level_m, peak = xb, xm, unproven
        if light is None:
            light = xl
        recent_b.append(xb)
        recent_m.append(xm)
        recent_d.append(xs)
        bucket = hours[hour]
        usual_b, usual_m, count = bucket
        learned = count >= min_samples
        expected_b = expm1((usual_b if usual_b > level_b else level_b) if learned else level_b)
        floor_b = smaller(most_b, root_b * math.sqrt(1 + expected_b))
        crowd_b = _crowd_limit(ratio_b, expected_b, floor_b)
        busy = busy + 1 if expected_b >= min_expected else 0
        judged = (len(recent_b), expected_b, crowd_b, median_of)
        if crowd or (seen >= warmup and busy >= busy_needed):
            sustained_b = _crowd_limit(ratio_s, expected_b, floor_b)
            if crowd:
                crowd = _above_share_of_way(median(recent_b[-sustained_of:]), expected_b, sustained_b, hold_share)
                if not crowd and crowd_detail is not None:
                    crowd = (
                        median(recent_d[-median_of:]) >= crowd_detail + detail_rise
                        and light - light_shift <= xl <= light + light_shift
                    )
                judged = (len(recent_b), expected_b, sustained_b, sustained_of)
            else:
                expected_m = expm1(larger(level_m, usual_m) if learned else level_m)
                if median(recent_b[-median_of:]) >= log1p(crowd_b):
                    crowd_m = _crowd_limit(ratio_m, expected_m, floor_m)
                    crowd = median(recent_m[-median_of:]) >= log1p(crowd_m)
                if not crowd and learned and median(recent_b[-sustained_of:]) >= log1p(sustained_b):
                    sustained_m = _crowd_limit(ratio_s, expected_m, floor_m)
                    crowd = median(recent_m[-sustained_of:]) >= log1p(sustained_m)
                    if crowd:
                        judged = (len(recent_b), expected_b, sustained_b, sustained_of)
                if (
                    not (crowd or timetabled)
                    and xb >= long_least
                    and len(recent_b) >= 2 * long_of
                    and (not learned or xb >= _long_limit(usual_b, most_b, long_root))  # else under any reference
                ):
                    before = median(recent_b[-2 * long_of : -long_of])
                    reference = larger(before, usual_b) if learned else before
                    long_b = _long_limit(reference, most_b, long_root)
                    if (
                        xb >= long_b
                        and median(recent_b[-sustained_of:]) >= long_b
                        and median(recent_b[-long_of:]) >= long_b
                    ):
                        crowd = True
                        level_b = smaller(level_b, reference)
                        judged = (len(recent_b), expm1(reference), expm1(long_b), long_of)
                if crowd:
                    crowd_detail = _detail_before(recent_d, long_of)
        if not crowd:
            crowd_detail = None
        peak = peak - decay if peak - decay > level_b else level_b
        if empty_hours[hour] and larger(expected_b, expm1(peak)) <= empty_people:
            capped = smaller(blobs, cap)
            score = smaller(score_cap, larger(0.0, score + (capped - allowance - smaller(night, night_cap))))
            presence += in_view_gain if blobs > 0 else -in_view_allowance
            presence = 0.0 if presence < 0.0 else (presence_cap if presence > presence_cap else presence)
            if intrusion:
                intrusion = score >= hold_at or presence >= presence_hold
            else:
                intrusion = score >= fire_at or presence >= presence_at
            if not intrusion:
                night += night_alpha * (capped - night)
        else:
            score, presence, intrusion = 0.0, 0.0, False
        crowd_l.append(crowd)
        intrusion_l.append(intrusion)
        levels.append(judged)
        if not (crowd or score > 0 or presence > 0):
            alpha = 1 / (seen + 1)
            alpha = alpha if alpha > activity_alpha else activity_alpha
            low, high = level_b - step, level_b + step
            x = low if low > xb else xb
            level_b += alpha * ((high if high < x else x) - level_b)
            low, high = level_m - step, level_m + step
            x = low if low > xm else xm
            level_m += alpha * ((high if high < x else x) - level_m)
            light += alpha * (xl - light)
            if learned:
                low, high = usual_b - step, usual_b + step
                x = low if low > xb else xb
                xb = high if high < x else x
                low, high = usual_m - step, usual_m + step
                x = low if low > xm else xm
                xm = high if high < x else x
            count = hour_memory if hour_memory < count + 1 else count + 1
            bucket[0], bucket[1], bucket[2] = usual_b + (xb - usual_b) / count, usual_m + (xm - usual_m) / count, count
        seen += 1
    a.seen, a.busy, a.crowd, a.intrusion, a.score, a.presence = seen, busy, crowd, intrusion, score, presence
    a.blobs, a.motion, a.peak, a.night = level_b, level_m, peak, night
    a.light, a.crowd_detail = light, crowd_detail
    if len(recent_b) > keep:
        a.recent_people, a.recent_motion = recent_b[-keep:], recent_m[-keep:]
    if len(recent_d) > keep:
        a.recent_detail = recent_d[-keep:]
    return ActivityTrail(crowd_l, intrusion_l, levels, recent_b)


def _detail_before(recent_detail: list[float], lag: int) -> float | None:
    """The view's detail before a crowd just raised: the median of the ``lag`` clips before the last ``lag``."""
    if len(recent_detail) <= lag:
        return None
    return median(recent_detail[-2 * lag : -lag])


def _long_limit(reference: float, most: float, per_root: float) -> float:
    """The log1p(people) the long tier fires at over a ``reference`` log1p(people); rises with it."""
    people = math.expm1(reference)
    return math.log1p(people + smaller(most, per_root * math.sqrt(1 + people)))


def _crowd_limit(ratio: float, expected: float, floor: float) -> float:
    """The level a crowd must reach: ``ratio`` times (1 + expected), and at least ``floor`` above expected."""
    return larger(ratio * (1 + expected) - 1, expected + floor)


def _above_share_of_way(x: float, usual: float, limit: float, share: float) -> bool:
    """Whether log1p-level ``x`` is above ``share`` of the way from the usual level to the limit (in log terms)."""
    low = math.log1p(usual)
    return x >= low + (math.log1p(limit) - low) * share
